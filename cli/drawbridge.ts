import { processIo } from './io.ts';
import { main } from './main.ts';

// process.exitCode rather than process.exit(): stdout may still be draining into a pipe.
process.exitCode = await main(process.argv.slice(2), processIo());
