//! What people read on stderr: lines (`say!`), an error with its causes said once, and progress
//! for long work: a bar with counts, rate and ETA when stderr is a terminal, nothing otherwise
//! (logs and CI get the summary lines each command prints at the end).

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Writes one line for people on stderr, like `eprintln!`; when stderr has no reader any more,
/// the command stops quietly instead of panicking (see [`crate::exit::exit_on_closed_output`]).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::progress::say_line(format_args!($($arg)*))
    };
}

/// Writes `text` and a line end on stderr (see [`say!`]).
pub fn say_line(text: std::fmt::Arguments) {
    let mut stderr = std::io::stderr().lock();
    if let Err(error) = writeln!(stderr, "{text}") {
        // Any other failure (a full disk behind 2>file) leaves nothing to report it on.
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            crate::exit::exit_on_closed_output();
        }
    }
}

/// An error and its causes, each said once: `io error: tcp connect error: Connection refused`.
pub fn said_once(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// One bar of work counted in `unit`s.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `total` `unit`s, labelled `label`, drawn on stderr.
    pub fn new(label: &str, total: u64, unit: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template = format!(
            "{{prefix}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} {{per_sec}} ETA {{eta}} {{msg}}"
        );
        bar.set_style(
            ProgressStyle::with_template(&template)
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }

    /// A bar that is never drawn, for work shown by another bar.
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    /// `n` more units done.
    pub fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Replaces the text after the counts, such as `WCU/s 850 · retries 3`.
    pub fn say(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Removes the bar; the command prints its own summary.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    /// A bar left by an error is cleared too, so the error line stands alone.
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

/// `text` as a message shows it: whole up to 100 bytes, else its first 60 characters, an
/// ellipsis and its size (a key or a value can be kilobytes long).
pub fn clipped(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= 100 {
        return text.into();
    }
    let end = text.char_indices().nth(60).map_or(text.len(), |(at, _)| at);
    format!("{}… ({} bytes)", &text[..end], text.len()).into()
}

#[cfg(test)]
mod tests {
    use super::clipped;

    #[test]
    fn long_text_is_clipped_on_a_character_with_its_size() {
        assert_eq!(clipped("USER#ana"), "USER#ana");
        let exactly = "я".repeat(50);
        assert_eq!(clipped(&exactly), exactly, "100 bytes are shown whole");
        let long = format!("{}{}", "я".repeat(70), "x");
        assert_eq!(clipped(&long), format!("{}… (141 bytes)", "я".repeat(60)));
    }
}
