//! The target table: created from the spec, or checked against it when it already exists.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    OnDemandThroughput, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus, WarmThroughput,
};
use aws_sdk_dynamodb::Client;

use super::{service_error, SinkError};
use crate::spec::{self, Billing, KeyAttr, TableSpec};

/// Seconds to wait for a new table to become ACTIVE.
const ACTIVE_WAIT_SECONDS: u64 = 300;

fn scalar(ty: spec::KeyType) -> ScalarAttributeType {
    match ty {
        spec::KeyType::S => ScalarAttributeType::S,
        spec::KeyType::N => ScalarAttributeType::N,
        spec::KeyType::B => ScalarAttributeType::B,
    }
}

fn key_schema(partition: &KeyAttr, sort: Option<&KeyAttr>) -> Vec<KeySchemaElement> {
    std::iter::once((partition, KeyType::Hash))
        .chain(sort.map(|s| (s, KeyType::Range)))
        .map(|(k, role)| {
            KeySchemaElement::builder()
                .attribute_name(&k.name)
                .key_type(role)
                .build()
                .expect("name and key type are set")
        })
        .collect()
}

/// The key layout of a table as text, to compare the spec's with a live table's.
fn describe_keys(keys: &[(String, String)], indexes: &[(String, Vec<(String, String)>)]) -> String {
    let keys: Vec<String> = keys.iter().map(|(n, t)| format!("{n} {t}")).collect();
    let mut out = format!("keys ({})", keys.join(", "));
    for (name, index_keys) in indexes {
        let k: Vec<String> = index_keys.iter().map(|(n, t)| format!("{n} {t}")).collect();
        out += &format!(", index {name} ({})", k.join(", "));
    }
    out
}

/// The spec's keys and indexes as text, as a live table's are compared with them.
pub fn spec_layout(table: &TableSpec) -> String {
    let pair = |k: &KeyAttr| (k.name.clone(), k.ty.letter().to_string());
    let keys: Vec<(String, String)> = std::iter::once(&table.partition_key)
        .chain(&table.sort_key)
        .map(pair)
        .collect();
    let mut indexes: Vec<(String, Vec<(String, String)>)> = table
        .indexes
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                std::iter::once(&i.partition_key)
                    .chain(&i.sort_key)
                    .map(pair)
                    .collect(),
            )
        })
        .collect();
    indexes.sort();
    describe_keys(&keys, &indexes)
}

/// What became of the spec's TTL attribute on the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ttl {
    /// The spec names none.
    None,
    /// Already on, on this attribute.
    AlreadyOn,
    /// Turned on now.
    TurnedOn,
    /// The endpoint has no UpdateTimeToLive (local endpoints); the table has no TTL.
    Unsupported,
}

/// Turns TTL on for the spec's TTL attribute unless it already is.
pub async fn ensure_ttl(client: &Client, name: &str, spec: &TableSpec) -> Result<Ttl, SinkError> {
    let Some(attribute) = &spec.ttl_attribute else {
        return Ok(Ttl::None);
    };
    let described = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(service_error)?;
    if let Some(d) = described.time_to_live_description() {
        let on = matches!(
            d.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        );
        if on && d.attribute_name() == Some(attribute.as_str()) {
            return Ok(Ttl::AlreadyOn);
        }
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
        .build()
        .expect("enabled and attribute are set");
    match client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await
    {
        Ok(_) => Ok(Ttl::TurnedOn),
        Err(e) => match service_error(e) {
            SinkError::Service { code, .. } if code == "UnknownOperationException" => {
                Ok(Ttl::Unsupported)
            }
            other => Err(other),
        },
    }
}

/// Creates the table the spec describes unless it exists; an existing table must have the same
/// keys and indexes. Waits until the table is ACTIVE.
pub async fn ensure(
    client: &Client,
    name: &str,
    spec: &TableSpec,
    create: bool,
) -> Result<bool, SinkError> {
    let created = match live_layout(client, name).await? {
        Some(actual) => {
            let expected = spec_layout(spec);
            if actual != expected {
                return Err(SinkError::SchemaDiffers {
                    table: name.to_string(),
                    expected,
                    actual,
                });
            }
            false
        }
        None if create => {
            create_table(client, name, spec).await?;
            true
        }
        None => return Err(SinkError::TableMissing(name.to_string())),
    };
    wait_active(client, name).await?;
    Ok(created)
}

/// The table `name` as DescribeTable gives it, or `None` when there is none.
pub async fn described(client: &Client, name: &str) -> Result<Option<TableDescription>, SinkError> {
    match client.describe_table().table_name(name).send().await {
        Ok(d) => Ok(d.table),
        Err(e) => match service_error(e) {
            SinkError::Service { code, .. } if code == "ResourceNotFoundException" => Ok(None),
            other => Err(other),
        },
    }
}

async fn live_layout(client: &Client, name: &str) -> Result<Option<String>, SinkError> {
    let Some(table) = described(client, name).await? else {
        return Ok(None);
    };
    let type_of = |attr: &str| {
        table
            .attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == attr)
            .map(|d| d.attribute_type().as_str().to_string())
            .unwrap_or_default()
    };
    let keys_of = |schema: &[KeySchemaElement]| -> Vec<(String, String)> {
        let mut keys: Vec<&KeySchemaElement> = schema.iter().collect();
        keys.sort_by_key(|k| k.key_type() != &KeyType::Hash);
        keys.iter()
            .map(|k| (k.attribute_name().to_string(), type_of(k.attribute_name())))
            .collect()
    };
    let mut indexes: Vec<(String, Vec<(String, String)>)> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_string(),
                keys_of(i.key_schema()),
            )
        })
        .collect();
    indexes.sort();
    Ok(Some(describe_keys(&keys_of(table.key_schema()), &indexes)))
}

/// The spec's table as CreateTable and ImportTable take it.
pub struct Definition {
    pub key_schema: Vec<KeySchemaElement>,
    pub attributes: Vec<AttributeDefinition>,
    pub billing: BillingMode,
    pub provisioned: Option<ProvisionedThroughput>,
    pub on_demand: Option<OnDemandThroughput>,
    pub warm: Option<WarmThroughput>,
    /// Each index with the table's throughput settings but warm throughput (which ImportTable
    /// does not take: `warm` is for CreateTable to add).
    pub indexes: Vec<GlobalSecondaryIndex>,
}

impl Definition {
    /// The keys, attribute definitions, billing, throughput and indexes `spec` gives.
    pub fn of(spec: &TableSpec) -> Definition {
        let mut keys: Vec<&KeyAttr> = Vec::new();
        for key in spec.key_attributes() {
            if !keys.iter().any(|a| a.name == key.name) {
                keys.push(key);
            }
        }
        let attributes = keys
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(&a.name)
                    .attribute_type(scalar(a.ty))
                    .build()
                    .expect("name and type are set")
            })
            .collect();
        let (billing, provisioned) = match spec.billing {
            Billing::OnDemand => (BillingMode::PayPerRequest, None),
            Billing::Provisioned { read, write } => (
                BillingMode::Provisioned,
                Some(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(read as i64)
                        .write_capacity_units(write as i64)
                        .build()
                        .expect("both capacities are set"),
                ),
            ),
        };
        let (on_demand, warm) = throughput_settings(&spec.throughput);
        let indexes = spec
            .indexes
            .iter()
            .map(|index| {
                let projection = match &index.projection {
                    spec::Projection::All => {
                        Projection::builder().projection_type(ProjectionType::All)
                    }
                    spec::Projection::KeysOnly => {
                        Projection::builder().projection_type(ProjectionType::KeysOnly)
                    }
                    spec::Projection::Include(attrs) => Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(attrs.clone())),
                };
                GlobalSecondaryIndex::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(key_schema(
                        &index.partition_key,
                        index.sort_key.as_ref(),
                    )))
                    .projection(projection.build())
                    .set_provisioned_throughput(provisioned.clone())
                    .set_on_demand_throughput(on_demand.clone())
                    .build()
                    .expect("name, keys and projection are set")
            })
            .collect();
        Definition {
            key_schema: key_schema(&spec.partition_key, spec.sort_key.as_ref()),
            attributes,
            billing,
            provisioned,
            on_demand,
            warm,
            indexes,
        }
    }
}

async fn create_table(client: &Client, name: &str, spec: &TableSpec) -> Result<(), SinkError> {
    let table = Definition::of(spec);
    let mut request = client
        .create_table()
        .table_name(name)
        .set_key_schema(Some(table.key_schema))
        .set_attribute_definitions(Some(table.attributes))
        .billing_mode(table.billing)
        .set_provisioned_throughput(table.provisioned)
        .set_on_demand_throughput(table.on_demand)
        .set_warm_throughput(table.warm.clone());
    for mut index in table.indexes {
        index.warm_throughput = table.warm.clone();
        request = request.global_secondary_indexes(index);
    }
    request.send().await.map_err(service_error)?;
    Ok(())
}

/// The spec's on-demand maximum and warm throughput as the SDK takes them: the same for the
/// table and each index (each index has limits of its own, and would throttle the table's
/// writes were it left cold or capped lower).
fn throughput_settings(
    throughput: &spec::Throughput,
) -> (Option<OnDemandThroughput>, Option<WarmThroughput>) {
    let on_demand = throughput.max_write_request_units.map(|max| {
        OnDemandThroughput::builder()
            .max_write_request_units(max as i64)
            .build()
    });
    let warm = (throughput.warm_write_units_per_second.is_some()
        || throughput.warm_read_units_per_second.is_some())
    .then(|| {
        WarmThroughput::builder()
            .set_write_units_per_second(throughput.warm_write_units_per_second.map(|v| v as i64))
            .set_read_units_per_second(throughput.warm_read_units_per_second.map(|v| v as i64))
            .build()
    });
    (on_demand, warm)
}

async fn wait_active(client: &Client, name: &str) -> Result<(), SinkError> {
    for _ in 0..ACTIVE_WAIT_SECONDS * 2 {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(service_error)?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(SinkError::NotActive(name.to_string()))
}
