// Runs the CLI from source (`node --import tsx scripts/parapet-dev.ts ...`), for development without a build.
import { processIo } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2), processIo());
