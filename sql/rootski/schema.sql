-- Rootski's relational schema: the 17 data-carrying tables of its Postgres database.
--
-- Types, nullability and keys follow Rootski's SQLAlchemy models (reference §1.2), with two
-- repairs: conjugations and word_defs, which Rootski's pandas seeding created without any key,
-- get their primary and foreign keys here. The never-populated `verbs` table is left out.
-- Tables are created parents first; `migrator dataset load` loads them in this order.

CREATE TYPE parts_of_speech AS ENUM (
    'preposition', 'interjection', 'participle', 'particle', 'adjective',
    'pronoun', 'verb', 'noun', 'conjunction', 'adverb'
);
CREATE TYPE morpheme_types AS ENUM ('prefix', 'suffix', 'root', 'link');
CREATE TYPE morpheme_word_pos AS ENUM ('any', 'adjective', 'noun', 'verb');
CREATE TYPE noun_genders AS ENUM ('m', 'f', 'n');
CREATE TYPE verb_aspects AS ENUM ('perf', 'impf');
CREATE TYPE definition_child_types AS ENUM ('definition', 'example');

CREATE TABLE users (
    email VARCHAR(512) PRIMARY KEY,
    is_admin BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE words (
    id SERIAL PRIMARY KEY,
    word VARCHAR(256) NOT NULL,
    accent VARCHAR(256) NOT NULL,
    pos parts_of_speech NOT NULL,
    frequency INTEGER,
    translation VARCHAR(512)
);

CREATE TABLE morpheme_families (
    id SERIAL PRIMARY KEY,
    family VARCHAR(256),
    level INTEGER
);

CREATE TABLE morpheme_family_meanings (
    id SERIAL PRIMARY KEY,
    family_id INTEGER NOT NULL REFERENCES morpheme_families (id),
    meaning VARCHAR(256)
);

CREATE TABLE morphemes (
    morpheme_id SERIAL PRIMARY KEY,
    morpheme VARCHAR(256) NOT NULL,
    type morpheme_types NOT NULL,
    word_pos morpheme_word_pos NOT NULL,
    family_id INTEGER NOT NULL REFERENCES morpheme_families (id)
);

-- The breakdown header: one segmentation of a word (several per word are allowed).
CREATE TABLE word_to_breakdowns (
    word_id INTEGER NOT NULL REFERENCES words (id),
    breakdown_id SERIAL PRIMARY KEY,
    word VARCHAR(256),
    submitted_by_user_email VARCHAR(512) REFERENCES users (email),
    verified_by_user_email VARCHAR(512) REFERENCES users (email),
    is_verified BOOLEAN NOT NULL DEFAULT false,
    is_inference BOOLEAN NOT NULL DEFAULT false,
    date_submitted TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    date_verified TIMESTAMP
);

-- The breakdown items: one piece of a word each; morpheme_id NULL for an unidentified piece.
CREATE TABLE breakdowns (
    id SERIAL PRIMARY KEY,
    morpheme_id INTEGER REFERENCES morphemes (morpheme_id),
    breakdown_id INTEGER REFERENCES word_to_breakdowns (breakdown_id),
    morpheme VARCHAR(256) NOT NULL,
    type morpheme_types,
    position INTEGER NOT NULL
);

CREATE TABLE nouns (
    word_id INTEGER PRIMARY KEY REFERENCES words (id),
    word VARCHAR(256) NOT NULL,
    gender noun_genders,
    animate BOOLEAN,
    indeclinable BOOLEAN,
    nom VARCHAR(256),
    acc VARCHAR(256),
    prep VARCHAR(256),
    gen VARCHAR(256),
    dat VARCHAR(256),
    inst VARCHAR(256),
    nom_pl VARCHAR(256),
    acc_pl VARCHAR(256),
    prep_pl VARCHAR(256),
    gen_pl VARCHAR(256),
    dat_pl VARCHAR(256),
    inst_pl VARCHAR(256)
);

CREATE TABLE adjectives (
    word_id INTEGER PRIMARY KEY REFERENCES words (id),
    comp VARCHAR(256),
    fem_short VARCHAR(256),
    masc_short VARCHAR(256),
    neut_short VARCHAR(256),
    plural_short VARCHAR(256)
);

-- The verb forms Rootski's application reads (its `verbs` table was never populated).
CREATE TABLE conjugations (
    word_id INTEGER PRIMARY KEY REFERENCES words (id),
    aspect verb_aspects NOT NULL,
    "1st_per_sing" VARCHAR(256),
    "2nd_per_sing" VARCHAR(256),
    "3rd_per_sing" VARCHAR(256),
    "1st_per_pl" VARCHAR(256),
    "2nd_per_pl" VARCHAR(256),
    "3rd_per_pl" VARCHAR(256),
    past_m VARCHAR(256),
    past_f VARCHAR(256),
    past_n VARCHAR(256),
    past_pl VARCHAR(256),
    actv_part VARCHAR(256),
    pass_part VARCHAR(256),
    actv_past_part VARCHAR(256),
    pass_past_part VARCHAR(256),
    gerund VARCHAR(256),
    impr VARCHAR(256),
    impr_pl VARCHAR(256)
);

CREATE TABLE verb_pairs (
    _id SERIAL PRIMARY KEY,
    imp_word_id INTEGER REFERENCES words (id),
    pfv_word_id INTEGER REFERENCES words (id)
);

CREATE TABLE sentences (
    sentence_id SERIAL PRIMARY KEY,
    sentence VARCHAR(2048) NOT NULL
);

CREATE TABLE sentence_translations (
    translation_id SERIAL PRIMARY KEY,
    sentence_id INTEGER REFERENCES sentences (sentence_id),
    translation VARCHAR(2048) NOT NULL
);

CREATE TABLE word_to_sentence (
    word_id INTEGER REFERENCES words (id),
    sentence_id INTEGER NOT NULL REFERENCES sentences (sentence_id),
    exact_match BOOLEAN NOT NULL,
    PRIMARY KEY (word_id, sentence_id)
);

-- Parent definitions carry no text (definition NULL); their children do.
CREATE TABLE definitions (
    id SERIAL PRIMARY KEY,
    pos parts_of_speech,
    definition VARCHAR(512),
    notes VARCHAR(256)
);

CREATE TABLE definition_contents (
    definition_id INTEGER REFERENCES definitions (id),
    child_type definition_child_types NOT NULL,
    child_id INTEGER NOT NULL REFERENCES definitions (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (definition_id, child_id)
);

CREATE TABLE word_defs (
    word_id INTEGER REFERENCES words (id),
    definition_id INTEGER REFERENCES definitions (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (word_id, definition_id)
);
