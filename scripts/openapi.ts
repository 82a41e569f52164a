// npm run openapi: writes openapi.json from the request schemas (lib/http/openapi.ts).
import { writeFileSync } from 'node:fs';
import { buildOpenApi } from '../lib/http/openapi.ts';

writeFileSync('openapi.json', `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
console.log('wrote openapi.json');
