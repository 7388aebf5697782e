// Validates an OpenAPI document read from standard input against the official OpenAPI 3.x
// JSON schemas (@seriousme/openapi-schema-validator, an ES module: the jest suite runs this in a
// child process). Prints {valid, errors} as JSON.
import { Validator } from '@seriousme/openapi-schema-validator';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const result = await new Validator().validate(JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(JSON.stringify({ valid: result.valid, errors: result.errors ?? [] }));
