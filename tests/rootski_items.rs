//! Golden items of the Rootski sample: every attribute and type, written out in full.
//! Each was checked by hand against the sample's rows and the rules of rootski-target.md.

use crate::support::plan;

/// (pk, sk, why this item, its exact DynamoDB JSON line)
const GOLDEN: &[(&str, &str, &str, &str)] = &[
    (
        "WORD#7",
        "WORD#7",
        "a verb: conjugations, its one aspect pair with no perfective, sentences by exact match then id (sentence 16 has no translation), the example child left out",
        r#"{"Item":{"__type":{"S":"WORD"},"aspectual_pairs":{"L":[{"M":{"imp_accent":{"S":"бы'ть"},"imp_word_id":{"N":"7"},"pfv_accent":{"NULL":true},"pfv_word_id":{"NULL":true}}}]},"conjugations":{"M":{"1st_per_pl":{"S":"бу'дем"},"1st_per_sing":{"S":"бу'ду"},"2nd_per_pl":{"S":"бу'дете"},"2nd_per_sing":{"S":"бу'дешь"},"3rd_per_pl":{"S":"бу'дут"},"3rd_per_sing":{"S":"бу'дет"},"actv_part":{"NULL":true},"actv_past_part":{"S":"бы'вший"},"aspect":{"S":"impf"},"gerund":{"S":"бу'дучи"},"impr":{"S":"будь"},"impr_pl":{"S":"бу'дьте"},"pass_part":{"NULL":true},"pass_past_part":{"NULL":true},"past_f":{"S":"была'"},"past_m":{"S":"был"},"past_n":{"S":"бы'ло"},"past_pl":{"S":"бы'ли"}}},"definitions":{"L":[{"M":{"definitions":{"L":[{"M":{"def_position":{"N":"0"},"definition_id":{"N":"100"},"sub_defs":{"L":[{"M":{"definition":{"S":"to be"},"notes":{"NULL":true},"sub_def_id":{"N":"101"},"sub_def_position":{"N":"0"}}},{"M":{"definition":{"S":"to exist"},"notes":{"NULL":true},"sub_def_id":{"N":"102"},"sub_def_position":{"N":"1"}}},{"M":{"definition":{"S":"to be located"},"notes":{"S":"(находиться)"},"sub_def_id":{"N":"103"},"sub_def_position":{"N":"2"}}}]}}}]},"pos":{"S":"verb"}}}]},"pk":{"S":"WORD#7"},"sentences":{"L":[{"M":{"eng":{"S":"I want to be a doctor."},"exact_match":{"BOOL":true},"rus":{"S":"Я хочу быть врачом."}}},{"M":{"eng":{"S":"Where were you yesterday?"},"exact_match":{"BOOL":false},"rus":{"S":"Где ты был вчера?"}}},{"M":{"eng":{"S":"They said they would be at home."},"exact_match":{"BOOL":false},"rus":{"S":"Они сказали, что будут дома."}}},{"M":{"eng":{"S":"They said that they'd be home."},"exact_match":{"BOOL":false},"rus":{"S":"Они сказали, что будут дома."}}}]},"sk":{"S":"WORD#7"},"translation":{"S":"to be"},"word":{"M":{"accent":{"S":"бы'ть"},"frequency":{"N":"7"},"pos":{"S":"verb"},"word":{"S":"быть"},"word_id":{"S":"7"}}}}}"#,
    ),
    (
        "WORD#50",
        "WORD#50",
        // Reference §1.8: the legacy read's last step drops every sub_def whose sub_def_id was
        // seen before, keeping the first, over the whole word (after both groupings). Child
        // 112 is listed under parent 110 (def_position 0), so parent 114 lists 115 alone.
        "a verb with two aspect pairs and two parent definitions sharing child 112, listed once",
        r#"{"Item":{"__type":{"S":"WORD"},"aspectual_pairs":{"L":[{"M":{"imp_accent":{"S":"говори'ть"},"imp_word_id":{"N":"55"},"pfv_accent":{"S":"сказа'ть"},"pfv_word_id":{"N":"50"}}},{"M":{"imp_accent":{"S":"ска'зывать"},"imp_word_id":{"N":"16029"},"pfv_accent":{"S":"сказа'ть"},"pfv_word_id":{"N":"50"}}}]},"conjugations":{"M":{"1st_per_pl":{"S":"ска'жем"},"1st_per_sing":{"S":"скажу'"},"2nd_per_pl":{"S":"ска'жете"},"2nd_per_sing":{"S":"ска'жешь"},"3rd_per_pl":{"S":"ска'жут"},"3rd_per_sing":{"S":"ска'жет"},"actv_part":{"NULL":true},"actv_past_part":{"S":"сказа'вший"},"aspect":{"S":"perf"},"gerund":{"S":"сказа'в"},"impr":{"S":"скажи'"},"impr_pl":{"S":"скажи'те"},"pass_part":{"NULL":true},"pass_past_part":{"S":"ска'занный"},"past_f":{"S":"сказа'ла"},"past_m":{"S":"сказа'л"},"past_n":{"S":"сказа'ло"},"past_pl":{"S":"сказа'ли"}}},"definitions":{"L":[{"M":{"definitions":{"L":[{"M":{"def_position":{"N":"0"},"definition_id":{"N":"110"},"sub_defs":{"L":[{"M":{"definition":{"S":"to say"},"notes":{"NULL":true},"sub_def_id":{"N":"111"},"sub_def_position":{"N":"0"}}},{"M":{"definition":{"S":"to tell"},"notes":{"S":"(кому-либо)"},"sub_def_id":{"N":"112"},"sub_def_position":{"N":"1"}}},{"M":{"definition":{"S":"to state"},"notes":{"NULL":true},"sub_def_id":{"N":"113"},"sub_def_position":{"N":"2"}}}]}}},{"M":{"def_position":{"N":"1"},"definition_id":{"N":"114"},"sub_defs":{"L":[{"M":{"definition":{"S":"to tell (a story)"},"notes":{"NULL":true},"sub_def_id":{"N":"115"},"sub_def_position":{"N":"0"}}}]}}}]},"pos":{"S":"verb"}}}]},"pk":{"S":"WORD#50"},"sentences":{"L":[{"M":{"eng":{"S":"I don't know what to say."},"exact_match":{"BOOL":true},"rus":{"S":"Я не знаю, что сказать."}}},{"M":{"eng":{"S":"They said they would be at home."},"exact_match":{"BOOL":false},"rus":{"S":"Они сказали, что будут дома."}}},{"M":{"eng":{"S":"They said that they'd be home."},"exact_match":{"BOOL":false},"rus":{"S":"Они сказали, что будут дома."}}},{"M":{"eng":{"S":"He said nothing."},"exact_match":{"BOOL":false},"rus":{"S":"Он ничего не сказал."}}},{"M":{"eng":{"S":"He didn't say anything."},"exact_match":{"BOOL":false},"rus":{"S":"Он ничего не сказал."}}},{"M":{"eng":{"S":"He did not say a thing."},"exact_match":{"BOOL":false},"rus":{"S":"Он ничего не сказал."}}}]},"sk":{"S":"WORD#50"},"translation":{"S":"to say"},"word":{"M":{"accent":{"S":"сказа'ть"},"frequency":{"N":"50"},"pos":{"S":"verb"},"word":{"S":"сказать"},"word_id":{"S":"50"}}}}}"#,
    ),
    (
        "WORD#689",
        "WORD#689",
        "a noun: declensions",
        r#"{"Item":{"__type":{"S":"WORD"},"declensions":{"M":{"acc":{"S":"созна'ние"},"acc_pl":{"S":"созна'ния"},"animate":{"BOOL":false},"dat":{"S":"созна'нию"},"dat_pl":{"S":"созна'ниям"},"gen":{"S":"созна'ния"},"gen_pl":{"S":"созна'ний"},"gender":{"S":"n"},"indeclinable":{"BOOL":false},"inst":{"S":"созна'нием"},"inst_pl":{"S":"созна'ниями"},"nom":{"S":"созна'ние"},"nom_pl":{"S":"созна'ния"},"prep":{"S":"созна'нии"},"prep_pl":{"S":"созна'ниях"}}},"definitions":{"L":[{"M":{"definitions":{"L":[{"M":{"def_position":{"N":"0"},"definition_id":{"N":"160"},"sub_defs":{"L":[{"M":{"definition":{"S":"consciousness"},"notes":{"NULL":true},"sub_def_id":{"N":"161"},"sub_def_position":{"N":"0"}}},{"M":{"definition":{"S":"awareness"},"notes":{"S":"(признание)"},"sub_def_id":{"N":"162"},"sub_def_position":{"N":"1"}}}]}}}]},"pos":{"S":"noun"}}}]},"pk":{"S":"WORD#689"},"sentences":{"L":[{"M":{"eng":{"S":"Consciousness determines being."},"exact_match":{"BOOL":true},"rus":{"S":"Сознание определяет бытие."}}}]},"sk":{"S":"WORD#689"},"translation":{"S":"consciousness"},"word":{"M":{"accent":{"S":"созна'ние"},"frequency":{"N":"689"},"pos":{"S":"noun"},"word":{"S":"сознание"},"word_id":{"S":"689"}}}}}"#,
    ),
    (
        "WORD#597",
        "WORD#597",
        "an adjective: short forms",
        r#"{"Item":{"__type":{"S":"WORD"},"definitions":{"L":[{"M":{"definitions":{"L":[{"M":{"def_position":{"N":"0"},"definition_id":{"N":"210"},"sub_defs":{"L":[{"M":{"definition":{"S":"beautiful"},"notes":{"NULL":true},"sub_def_id":{"N":"211"},"sub_def_position":{"N":"0"}}},{"M":{"definition":{"S":"handsome"},"notes":{"NULL":true},"sub_def_id":{"N":"212"},"sub_def_position":{"N":"1"}}}]}}}]},"pos":{"S":"adjective"}}}]},"pk":{"S":"WORD#597"},"sentences":{"L":[{"M":{"eng":{"S":"This is the most beautiful city."},"exact_match":{"BOOL":true},"rus":{"S":"Это самый красивый город."}}}]},"short_forms":{"M":{"comp":{"S":"краси'вее"},"fem_short":{"S":"краси'ва"},"masc_short":{"S":"краси'в"},"neut_short":{"S":"краси'во"},"plural_short":{"S":"краси'вы"}}},"sk":{"S":"WORD#597"},"translation":{"S":"beautiful"},"word":{"M":{"accent":{"S":"краси'вый"},"frequency":{"N":"597"},"pos":{"S":"adjective"},"word":{"S":"красивый"},"word_id":{"S":"597"}}}}}"#,
    ),
    (
        "WORD#2310",
        "WORD#2310",
        "a participle (no grammar block, NULL translation)",
        r#"{"Item":{"__type":{"S":"WORD"},"definitions":{"L":[{"M":{"definitions":{"L":[{"M":{"def_position":{"N":"0"},"definition_id":{"N":"230"},"sub_defs":{"L":[{"M":{"definition":{"S":"talking, speaking"},"notes":{"NULL":true},"sub_def_id":{"N":"231"},"sub_def_position":{"N":"0"}}}]}}}]},"pos":{"S":"participle"}}}]},"pk":{"S":"WORD#2310"},"sentences":{"L":[{"M":{"eng":{"S":"The talking parrot sat on the window."},"exact_match":{"BOOL":true},"rus":{"S":"Говорящий попугай сидел на окне."}}}]},"sk":{"S":"WORD#2310"},"translation":{"NULL":true},"word":{"M":{"accent":{"S":"говоря'щий"},"frequency":{"N":"2310"},"pos":{"S":"participle"},"word":{"S":"говорящий"},"word_id":{"S":"2310"}}}}}"#,
    ),
    (
        "WORD#1402",
        "WORD#1402",
        "an interjection",
        r#"{"Item":{"__type":{"S":"WORD"},"definitions":{"L":[{"M":{"definitions":{"L":[{"M":{"def_position":{"N":"0"},"definition_id":{"N":"220"},"sub_defs":{"L":[{"M":{"definition":{"S":"oh"},"notes":{"NULL":true},"sub_def_id":{"N":"221"},"sub_def_position":{"N":"0"}}}]}}}]},"pos":{"S":"interjection"}}}]},"pk":{"S":"WORD#1402"},"sentences":{"L":[{"M":{"eng":{"S":"Oh, I forgot the keys!"},"exact_match":{"BOOL":true},"rus":{"S":"Ой, я забыл ключи!"}}}]},"sk":{"S":"WORD#1402"},"translation":{"S":"oh"},"word":{"M":{"accent":{"S":"о'й"},"frequency":{"N":"1402"},"pos":{"S":"interjection"},"word":{"S":"ой"},"word_id":{"S":"1402"}}}}}"#,
    ),
    (
        "WORD",
        "знать",
        "a homograph: the verb 57 (rank 57) on top, the noun 9120 kept in homographs",
        r#"{"Item":{"__type":{"S":"WORD_FOR_SEARCH"},"frequency":{"N":"57"},"homographs":{"L":[{"M":{"frequency":{"N":"57"},"pos":{"S":"verb"},"word_id":{"S":"57"}}},{"M":{"frequency":{"N":"9120"},"pos":{"S":"noun"},"word_id":{"S":"9120"}}}]},"pk":{"S":"WORD"},"pos":{"S":"verb"},"sk":{"S":"знать"},"word":{"S":"знать"},"word_id":{"S":"57"}}}"#,
    ),
    (
        "WORD#7",
        "BREAKDOWN",
        "three breakdowns, none verified: the newest (77224) is official",
        r#"{"Item":{"__type":{"S":"BREAKDOWN"},"breakdown_id":{"S":"77224"},"breakdown_items":{"L":[{"M":{"morpheme":{"S":"бы"},"morpheme_family_id":{"S":"934"},"morpheme_id":{"S":"1776"},"position":{"N":"0"}}},{"M":{"morpheme":{"S":"ть"},"morpheme_family_id":{"S":"1385"},"morpheme_id":{"S":"2196"},"position":{"N":"1"}}}]},"date_submitted":{"S":"2022-08-02 16:20:31.500001"},"date_verified":{"NULL":true},"gsi1pk":{"S":"USER#another-user@example.com"},"gsi1sk":{"S":"WORD#7"},"gsi2pk":{"S":"WORD#7"},"gsi2sk":{"S":"USER#another-user@example.com"},"is_inference":{"BOOL":false},"is_verified":{"BOOL":false},"pk":{"S":"WORD#7"},"sk":{"S":"BREAKDOWN"},"submitted_by_user_email":{"S":"another-user@example.com"},"verified_by_user_email":{"NULL":true},"word":{"S":"быть"},"word_id":{"S":"7"}}}"#,
    ),
    (
        "WORD#771",
        "BREAKDOWN",
        "three breakdowns: the verified one (77222) is official although 77225 is newer",
        r#"{"Item":{"__type":{"S":"BREAKDOWN"},"breakdown_id":{"S":"77222"},"breakdown_items":{"L":[{"M":{"morpheme":{"S":"вы"},"morpheme_family_id":{"S":"1401"},"morpheme_id":{"S":"2213"},"position":{"N":"0"}}},{"M":{"morpheme":{"S":"гляд"},"morpheme_family_id":{"S":"127"},"morpheme_id":{"S":"276"},"position":{"N":"1"}}},{"M":{"morpheme":{"S":"еть"},"morpheme_family_id":{"S":"1324"},"morpheme_id":{"S":"2130"},"position":{"N":"2"}}}]},"date_submitted":{"S":"2022-07-23 05:40:02.120000"},"date_verified":{"S":"2022-07-23 05:42:11.985578"},"gsi1pk":{"S":"USER#admin@example.com"},"gsi1sk":{"S":"WORD#771"},"gsi2pk":{"S":"WORD#771"},"gsi2sk":{"S":"USER#admin@example.com"},"is_inference":{"BOOL":false},"is_verified":{"BOOL":true},"pk":{"S":"WORD#771"},"sk":{"S":"BREAKDOWN"},"submitted_by_user_email":{"S":"admin@example.com"},"verified_by_user_email":{"S":"admin@example.com"},"word":{"S":"выглядеть"},"word_id":{"S":"771"}}}"#,
    ),
    (
        "USER#user@example.com",
        "BREAKDOWN#7",
        "user@'s breakdown of word 7 that lost to a newer one",
        r#"{"Item":{"__type":{"S":"UNOFFICIAL_USER_BREAKDOWN"},"breakdown_id":{"S":"77223"},"breakdown_items":{"L":[{"M":{"morpheme":{"S":"бы"},"morpheme_family_id":{"S":"934"},"morpheme_id":{"S":"1776"},"position":{"N":"0"}}},{"M":{"morpheme":{"S":"ть"},"morpheme_family_id":{"S":"1385"},"morpheme_id":{"S":"2196"},"position":{"N":"1"}}}]},"date_submitted":{"S":"2022-08-01 10:00:00.000000"},"date_verified":{"NULL":true},"is_inference":{"BOOL":false},"is_verified":{"BOOL":false},"pk":{"S":"USER#user@example.com"},"sk":{"S":"BREAKDOWN#7"},"submitted_by_user_email":{"S":"user@example.com"},"verified_by_user_email":{"NULL":true},"word":{"S":"быть"},"word_id":{"S":"7"}}}"#,
    ),
    (
        "USER#contributor@example.com",
        "BREAKDOWN#771",
        "contributor@'s breakdown of 771, with an unidentified piece",
        r#"{"Item":{"__type":{"S":"UNOFFICIAL_USER_BREAKDOWN"},"breakdown_id":{"S":"77225"},"breakdown_items":{"L":[{"M":{"morpheme":{"S":"вы"},"morpheme_family_id":{"S":"102"},"morpheme_id":{"S":"218"},"position":{"N":"0"}}},{"M":{"morpheme":{"S":"гляд"},"morpheme_family_id":{"S":"127"},"morpheme_id":{"S":"276"},"position":{"N":"1"}}},{"M":{"morpheme":{"S":"еть"},"morpheme_family_id":{"NULL":true},"morpheme_id":{"NULL":true},"position":{"N":"2"}}}]},"date_submitted":{"S":"2022-09-01 12:00:00.000001"},"date_verified":{"NULL":true},"is_inference":{"BOOL":false},"is_verified":{"BOOL":false},"pk":{"S":"USER#contributor@example.com"},"sk":{"S":"BREAKDOWN#771"},"submitted_by_user_email":{"S":"contributor@example.com"},"verified_by_user_email":{"NULL":true},"word":{"S":"выглядеть"},"word_id":{"S":"771"}}}"#,
    ),
    (
        "WORD#771",
        "BREAKDOWN_ITEM#1401#0",
        "a piece of 771's official breakdown",
        r#"{"Item":{"__type":{"S":"BREAKDOWN_ITEM"},"breakdown_id":{"S":"77222"},"gsi1pk":{"S":"MORPHEME_FAMILY#1401"},"gsi1sk":{"S":"BREAKDOWN#admin@example.com"},"morpheme":{"S":"вы"},"morpheme_family_id":{"S":"1401"},"morpheme_id":{"S":"2213"},"pk":{"S":"WORD#771"},"position":{"N":"0"},"sk":{"S":"BREAKDOWN_ITEM#1401#0"},"submitted_by_user_email":{"S":"admin@example.com"},"word_id":{"S":"771"}}}"#,
    ),
    (
        "WORD#771",
        "BREAKDOWN_ITEM#127#1",
        "a piece of 771's official breakdown",
        r#"{"Item":{"__type":{"S":"BREAKDOWN_ITEM"},"breakdown_id":{"S":"77222"},"gsi1pk":{"S":"MORPHEME_FAMILY#127"},"gsi1sk":{"S":"BREAKDOWN#admin@example.com"},"morpheme":{"S":"гляд"},"morpheme_family_id":{"S":"127"},"morpheme_id":{"S":"276"},"pk":{"S":"WORD#771"},"position":{"N":"1"},"sk":{"S":"BREAKDOWN_ITEM#127#1"},"submitted_by_user_email":{"S":"admin@example.com"},"word_id":{"S":"771"}}}"#,
    ),
    (
        "WORD#771",
        "BREAKDOWN_ITEM#1324#2",
        "a piece of 771's official breakdown",
        r#"{"Item":{"__type":{"S":"BREAKDOWN_ITEM"},"breakdown_id":{"S":"77222"},"gsi1pk":{"S":"MORPHEME_FAMILY#1324"},"gsi1sk":{"S":"BREAKDOWN#admin@example.com"},"morpheme":{"S":"еть"},"morpheme_family_id":{"S":"1324"},"morpheme_id":{"S":"2130"},"pk":{"S":"WORD#771"},"position":{"N":"2"},"sk":{"S":"BREAKDOWN_ITEM#1324#2"},"submitted_by_user_email":{"S":"admin@example.com"},"word_id":{"S":"771"}}}"#,
    ),
    (
        "WORD#59470",
        "BREAKDOWN_ITEM#140#3",
        "an identified piece of 59470, stored out of position order",
        r#"{"Item":{"__type":{"S":"BREAKDOWN_ITEM"},"breakdown_id":{"S":"77226"},"gsi1pk":{"S":"MORPHEME_FAMILY#140"},"gsi1sk":{"S":"BREAKDOWN#contributor@example.com"},"morpheme":{"S":"верш"},"morpheme_family_id":{"S":"140"},"morpheme_id":{"S":"300"},"pk":{"S":"WORD#59470"},"position":{"N":"3"},"sk":{"S":"BREAKDOWN_ITEM#140#3"},"submitted_by_user_email":{"S":"contributor@example.com"},"word_id":{"S":"59470"}}}"#,
    ),
    (
        "WORD#59470",
        "BREAKDOWN_ITEM#NULL#1",
        "an unidentified piece: no family, no gsi1 keys",
        r#"{"Item":{"__type":{"S":"BREAKDOWN_ITEM"},"breakdown_id":{"S":"77226"},"morpheme":{"S":"у"},"morpheme_family_id":{"NULL":true},"morpheme_id":{"NULL":true},"pk":{"S":"WORD#59470"},"position":{"N":"1"},"sk":{"S":"BREAKDOWN_ITEM#NULL#1"},"submitted_by_user_email":{"S":"contributor@example.com"},"word_id":{"S":"59470"}}}"#,
    ),
];

fn plan_lines() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    plan("access-patterns/rootski", "sql/rootski/sample", dir.path())
}

fn key_of(line: &str) -> (String, String) {
    let item: serde_json::Value = serde_json::from_str(line).unwrap();
    (
        item["Item"]["pk"]["S"].as_str().unwrap().to_string(),
        item["Item"]["sk"]["S"].as_str().unwrap().to_string(),
    )
}

#[test]
fn golden_items_of_every_kind() {
    let lines = plan_lines();
    for (pk, sk, why, expected) in GOLDEN {
        let found: Vec<&String> = lines
            .iter()
            .filter(|l| key_of(l) == (pk.to_string(), sk.to_string()))
            .collect();
        assert_eq!(found.len(), 1, "one item {pk} / {sk}");
        assert_eq!(found[0], expected, "{pk} / {sk}: {why}");
    }
}

#[test]
fn item_counts_and_breakdown_item_keys() {
    let lines = plan_lines();
    let count = |item_type: &str| {
        let needle = format!(r#"{{"Item":{{"__type":{{"S":"{item_type}"}}"#);
        lines.iter().filter(|l| l.starts_with(&needle)).count()
    };
    assert_eq!(count("USER"), 6);
    assert_eq!(
        count("WORD"),
        16,
        "every word, participles and interjections included"
    );
    assert_eq!(
        count("WORD_FOR_SEARCH"),
        15,
        "16 words, one shared spelling"
    );
    assert_eq!(count("BREAKDOWN"), 10, "one per word that has a breakdown");
    assert_eq!(count("UNOFFICIAL_USER_BREAKDOWN"), 2);
    assert_eq!(count("BREAKDOWN_ITEM"), 31);
    assert_eq!(count("MORPHEME_FAMILY"), 18);
    assert_eq!(count("MORPHEME"), 24);
    assert_eq!(lines.len(), 122);
    let mut keys: Vec<String> = lines
        .iter()
        .map(|l| key_of(l))
        .filter(|(pk, sk)| pk == "WORD#59470" && sk.starts_with("BREAKDOWN_ITEM#"))
        .map(|(_, sk)| sk)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "BREAKDOWN_ITEM#1150#2",
            "BREAKDOWN_ITEM#1360#5",
            "BREAKDOWN_ITEM#140#3",
            "BREAKDOWN_ITEM#1427#8",
            "BREAKDOWN_ITEM#560#0",
            "BREAKDOWN_ITEM#NULL#1",
            "BREAKDOWN_ITEM#NULL#4",
            "BREAKDOWN_ITEM#NULL#6",
            "BREAKDOWN_ITEM#NULL#7",
        ]
    );
    let word57: Vec<String> = lines
        .iter()
        .map(|l| key_of(l))
        .filter(|(pk, sk)| pk == "WORD#57" && sk.starts_with("BREAKDOWN_ITEM#"))
        .map(|(_, sk)| sk)
        .collect();
    assert_eq!(
        word57,
        ["BREAKDOWN_ITEM#1385#1", "BREAKDOWN_ITEM#245#0"],
        "duplicate pieces once"
    );
}
