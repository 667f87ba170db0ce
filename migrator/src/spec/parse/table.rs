//! The table: its keys, indexes, billing and the defaults for values.

use toml::{Spanned, Value as Toml};

use super::{Defaults, Lines, Located, RawTable};
use crate::spec::{
    Billing, IndexSpec, KeyAttr, KeyClashPolicy, KeyType, NullPolicy, Projection, TableSpec,
    Throughput, TimeFormat, TimePattern,
};

pub(super) fn key_attr(raw: &Spanned<Toml>, lines: &Lines) -> Located<KeyAttr> {
    let line = lines.of(raw);
    let bad = || {
        (
            line,
            "a key is a name (\"pk\") or { name = \"pk\", type = \"S\" } with type S, N or B"
                .to_string(),
        )
    };
    let (name, ty) = match raw.get_ref() {
        Toml::String(name) => (name.clone(), "S"),
        Toml::Table(t) => {
            let name = t.get("name").and_then(Toml::as_str).ok_or_else(bad)?;
            let ty = t.get("type").and_then(Toml::as_str).unwrap_or("S");
            if t.keys().any(|k| k != "name" && k != "type") {
                return Err(bad());
            }
            (name.to_string(), ty)
        }
        _ => return Err(bad()),
    };
    let ty = match ty {
        "S" => KeyType::S,
        "N" => KeyType::N,
        "B" => KeyType::B,
        _ => return Err(bad()),
    };
    Ok(KeyAttr { name, ty })
}

pub(super) fn table_spec(
    spanned: &Spanned<RawTable>,
    lines: &Lines,
) -> Located<(TableSpec, Defaults)> {
    let raw = spanned.get_ref();
    let needs = |what: &str| {
        (
            lines.of(spanned),
            format!("[table] needs {what} (or name a NoSQL Workbench model: workbench = \"model.json\")"),
        )
    };
    let name = raw.name.as_ref().ok_or_else(|| needs("a name"))?;
    let partition_key = raw
        .partition_key
        .as_ref()
        .ok_or_else(|| needs("a partition_key"))?;
    let billing = match raw.billing.as_ref().map(|b| (b.get_ref().as_str(), b)) {
        None | Some(("on-demand", _)) => Billing::OnDemand,
        Some(("provisioned", b)) => match (&raw.read_capacity, &raw.write_capacity) {
            (Some(read), Some(write)) => Billing::Provisioned {
                read: *read.get_ref(),
                write: *write.get_ref(),
            },
            _ => {
                return Err((
                    lines.of(b),
                    "provisioned billing needs read_capacity and write_capacity".into(),
                ))
            }
        },
        Some((other, b)) => {
            return Err((
                lines.of(b),
                format!("billing \"{other}\" is neither \"on-demand\" nor \"provisioned\""),
            ))
        }
    };
    let mut indexes = Vec::new();
    for index in &raw.indexes {
        let projection = match index.projection.as_ref().map(|p| (p.get_ref(), p)) {
            None => Projection::All,
            Some((Toml::String(s), _)) if s == "all" => Projection::All,
            Some((Toml::String(s), _)) if s == "keys" => Projection::KeysOnly,
            Some((Toml::Array(a), p)) => Projection::Include(
                a.iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or((lines.of(p), "projection lists attribute names".to_string()))?,
            ),
            Some((_, p)) => {
                return Err((
                    lines.of(p),
                    "projection is \"all\", \"keys\" or a list of attribute names".into(),
                ))
            }
        };
        indexes.push(IndexSpec {
            name: index.name.clone(),
            partition_key: key_attr(&index.partition_key, lines)?,
            sort_key: index
                .sort_key
                .as_ref()
                .map(|k| key_attr(k, lines))
                .transpose()?,
            projection,
        });
    }
    let nulls = match raw.nulls.as_ref() {
        None => NullPolicy::Null,
        Some(n) => null_policy(n.get_ref()).ok_or((
            lines.of(n),
            format!("nulls \"{}\" is neither \"null\" nor \"omit\"", n.get_ref()),
        ))?,
    };
    let timestamps = match raw.timestamp_format.as_ref() {
        None => TimeFormat::Iso8601,
        Some(f) => {
            time_format(f.get_ref()).map_err(|m| (lines.of(f), format!("timestamp_format {m}")))?
        }
    };
    for value in [
        &raw.max_write_request_units,
        &raw.warm_write_units_per_second,
        &raw.warm_read_units_per_second,
    ]
    .into_iter()
    .flatten()
    {
        if *value.get_ref() == 0 {
            return Err((
                lines.of(value),
                "a throughput setting is a positive number of units per second".into(),
            ));
        }
    }
    if let (Some(max), Billing::Provisioned { .. }) = (&raw.max_write_request_units, &billing) {
        return Err((
            lines.of(max),
            "max_write_request_units caps an on-demand table; a provisioned one has write_capacity"
                .into(),
        ));
    }
    let throughput = Throughput {
        max_write_request_units: raw.max_write_request_units.as_ref().map(|v| *v.get_ref()),
        warm_write_units_per_second: raw
            .warm_write_units_per_second
            .as_ref()
            .map(|v| *v.get_ref()),
        warm_read_units_per_second: raw
            .warm_read_units_per_second
            .as_ref()
            .map(|v| *v.get_ref()),
    };
    let sort_key = raw
        .sort_key
        .as_ref()
        .map(|k| key_attr(k, lines))
        .transpose()?;
    let on_key_clash = match raw.on_key_clash.as_ref() {
        None => KeyClashPolicy::Error,
        Some(p) if p.get_ref() == "error" => KeyClashPolicy::Error,
        Some(p) if p.get_ref() == "next-sort-key" => {
            if sort_key.as_ref().is_none_or(|k| k.ty != KeyType::N) {
                return Err((
                    lines.of(p),
                    "on_key_clash = \"next-sort-key\" moves an item to the next number of the sort key; give the table a sort key of type N (sort_key = { name = \"time\", type = \"N\" })".into(),
                ));
            }
            KeyClashPolicy::NextSortKey
        }
        Some(p) => {
            return Err((
                lines.of(p),
                format!(
                    "on_key_clash \"{}\" is neither \"error\" nor \"next-sort-key\"",
                    p.get_ref()
                ),
            ))
        }
    };
    let table = TableSpec {
        name: name.get_ref().clone(),
        partition_key: key_attr(partition_key, lines)?,
        sort_key,
        indexes,
        billing,
        type_attribute: raw.type_attribute.clone(),
        ttl_attribute: raw.ttl_attribute.clone(),
        throughput,
        on_key_clash,
    };
    Ok((table, Defaults { nulls, timestamps }))
}

pub(super) fn null_policy(text: &str) -> Option<NullPolicy> {
    match text {
        "null" => Some(NullPolicy::Null),
        "omit" => Some(NullPolicy::Omit),
        _ => None,
    }
}

pub(super) fn time_format(text: &str) -> Result<TimeFormat, String> {
    Ok(match text {
        "iso8601" => TimeFormat::Iso8601,
        "iso8601-millis" => TimeFormat::Iso8601Millis,
        "epoch-seconds" => TimeFormat::EpochSeconds,
        "epoch-seconds-ceil" => TimeFormat::EpochSecondsCeil,
        "epoch-millis" => TimeFormat::EpochMillis,
        pattern => TimeFormat::Pattern(TimePattern::parse(pattern)?),
    })
}
