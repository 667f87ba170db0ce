//! Made-up but plausible text: Cyrillic words and sentences, Latin-letter "English".

use rand::Rng;

const RU_ONSETS: [&str; 24] = [
    "б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "х", "ч", "ш", "пр",
    "ст", "гр", "св", "сл", "кр", "зн",
];
const RU_VOWELS: [&str; 9] = ["а", "о", "у", "ы", "и", "е", "я", "ю", "ё"];
const RU_ENDINGS: [&str; 12] = [
    "", "", "", "ть", "ить", "ый", "ий", "ние", "ка", "ость", "ик", "ство",
];
const EN_ONSETS: [&str; 16] = [
    "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "w", "th", "st",
];
const EN_VOWELS: [&str; 6] = ["a", "e", "i", "o", "u", "ea"];

/// Which kind of text a column gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextKind {
    /// One syllable-sized piece, like a morpheme.
    RuMorpheme,
    /// One Russian-looking word.
    RuWord,
    /// A capitalised sentence of Russian-looking words with a full stop.
    RuSentence,
    /// Lower-case Latin-letter words separated by spaces.
    EnWords,
}

/// Writes one piece of text of `kind`, with a word count drawn from `words` where it applies.
pub fn text(rng: &mut impl Rng, kind: TextKind, words: [u32; 2]) -> String {
    match kind {
        TextKind::RuMorpheme => syllable(rng, &RU_ONSETS, &RU_VOWELS),
        TextKind::RuWord => ru_word(rng),
        TextKind::RuSentence => {
            let n = rng.random_range(words[0]..=words[1]).max(1);
            let mut out = String::new();
            for i in 0..n {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&ru_word(rng));
            }
            capitalise(&out) + "."
        }
        TextKind::EnWords => {
            let n = rng.random_range(words[0]..=words[1]).max(1);
            (0..n)
                .map(|_| {
                    let syllables = rng.random_range(1..=3);
                    (0..syllables)
                        .map(|_| syllable(rng, &EN_ONSETS, &EN_VOWELS))
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

fn syllable(rng: &mut impl Rng, onsets: &[&str], vowels: &[&str]) -> String {
    let mut s = String::from(onsets[rng.random_range(0..onsets.len())]);
    s.push_str(vowels[rng.random_range(0..vowels.len())]);
    s
}

fn ru_word(rng: &mut impl Rng) -> String {
    let syllables = rng.random_range(1..=4);
    let mut word: String = (0..syllables)
        .map(|_| syllable(rng, &RU_ONSETS, &RU_VOWELS))
        .collect();
    word.push_str(RU_ENDINGS[rng.random_range(0..RU_ENDINGS.len())]);
    word
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Marks stress the way Rootski's `accent` column does: an apostrophe after one vowel.
pub fn stress(rng: &mut impl Rng, word: &str) -> String {
    let vowels: Vec<usize> = word
        .char_indices()
        .filter(|(_, c)| "аоуыиеяюёэ".contains(*c))
        .map(|(i, c)| i + c.len_utf8())
        .collect();
    if vowels.is_empty() {
        return word.to_string();
    }
    let at = vowels[rng.random_range(0..vowels.len())];
    format!("{}'{}", &word[..at], &word[at..])
}

/// Makes an inflected, stressed form of `word`: a random ending from `endings`.
pub fn inflect(rng: &mut impl Rng, word: &str, endings: &[String]) -> String {
    let stem: String = {
        let chars: Vec<char> = word.chars().collect();
        let keep = chars.len().saturating_sub(1).max(1);
        chars[..keep].iter().collect()
    };
    let ending = if endings.is_empty() {
        ""
    } else {
        &endings[rng.random_range(0..endings.len())]
    };
    stress(rng, &(stem + ending))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn same_seed_same_text() {
        let make = || {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            text(&mut rng, TextKind::RuSentence, [3, 6])
        };
        assert_eq!(make(), make());
        let sentence = make();
        assert!(sentence.ends_with('.'));
        assert!(sentence.chars().next().unwrap().is_uppercase());
    }

    #[test]
    fn stress_goes_after_a_vowel() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let s = stress(&mut rng, "быть");
        assert_eq!(s, "бы'ть");
        assert_eq!(stress(&mut rng, "ть"), "ть");
    }
}
