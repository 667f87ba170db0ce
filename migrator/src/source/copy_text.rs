//! Decodes Postgres's COPY text format: one row per line, fields split by tabs,
//! `\N` for NULL and backslash escapes inside fields.

/// Splits one COPY text line (without its newline) into raw, still-escaped fields.
pub fn split_fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    // The tabs found a word at a time (`memchr`), rather than byte by byte.
    let ends = memchr::memchr_iter(b'\t', line).chain(std::iter::once(line.len()));
    let mut start = 0;
    ends.map(move |end| {
        let field = &line[start..end];
        start = end + 1;
        field
    })
}

/// Returns `None` for the NULL marker, else the field with its escapes resolved.
///
/// # Errors
/// Returns the bytes when they are not UTF-8 after unescaping.
pub fn decode_field(field: &[u8]) -> Result<Option<String>, Vec<u8>> {
    if field == b"\\N" {
        return Ok(None);
    }
    if !field.contains(&b'\\') {
        return String::from_utf8(field.to_vec())
            .map(Some)
            .map_err(|e| e.into_bytes());
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        i += 1;
        if b != b'\\' || i == field.len() {
            out.push(b);
            continue;
        }
        let c = field[i];
        i += 1;
        match c {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match field.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            b'x' if field.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut value = 0u8;
                for _ in 0..2 {
                    match field.get(i).and_then(|&d| (d as char).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d as u8;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(value);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).map(Some).map_err(|e| e.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_escapes_and_plain_fields() {
        let line = b"1\t\\N\ta\\tb\\nc\\\\d\t\\101\\x42";
        let fields: Vec<_> = split_fields(line)
            .map(|f| decode_field(f).unwrap())
            .collect();
        assert_eq!(
            fields,
            vec![
                Some("1".to_string()),
                None,
                Some("a\tb\nc\\d".to_string()),
                Some("AB".to_string()),
            ]
        );
    }

    #[test]
    fn empty_fields_are_kept_at_either_end_and_between_tabs() {
        let fields = |line: &[u8]| split_fields(line).map(<[u8]>::to_vec).collect::<Vec<_>>();
        assert_eq!(fields(b""), [b"".to_vec()]);
        assert_eq!(fields(b"\t"), [b"".to_vec(), b"".to_vec()]);
        assert_eq!(
            fields(b"a\t\tb\t"),
            [b"a".to_vec(), b"".to_vec(), b"b".to_vec(), b"".to_vec()]
        );
    }

    #[test]
    fn cyrillic_passes_through() {
        assert_eq!(
            decode_field("быть".as_bytes()),
            Ok(Some("быть".to_string()))
        );
    }
}
