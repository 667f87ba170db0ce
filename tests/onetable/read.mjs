// Reads the migrated Ioto table the way the application does: OneTable's own client with the
// application's schema (Model.get, Model.find), and prints every entity as JSON, one line per
// entity, for the Rust test to compare with the source rows.
//
//   node tests/onetable/read.mjs ENDPOINT TABLE SCHEMA.js DEVICE...
import { readFileSync } from 'node:fs'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { Table } from 'dynamodb-onetable'

const [endpoint, name, schemaPath, ...devices] = process.argv.slice(2)
// The schema file is the object literal the application declares (`const DeviceSchema = {…}`).
const source = readFileSync(schemaPath, 'utf8')
const schema = new Function(`${source}\nreturn DeviceSchema`)()
const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
})
const table = new Table({ client, name, schema, partial: false })
const Status = table.getModel('Status')
const Fault = table.getModel('Fault')
const out = []
out.push({ model: 'Status', entity: await Status.get({}) })
for (const deviceId of devices) {
    for (const fault of await Fault.find({ deviceId })) {
        out.push({ model: 'Fault', entity: fault })
    }
}
for (const line of out) {
    console.log(JSON.stringify(line))
}
