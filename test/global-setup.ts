// Printed once per run so the CI log shows which Node actually ran the suite (Lambda runs nodejs24.x).
export default function setup(): void {
  console.log(`drawbridge tests on Node ${process.version}`);
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    throw new Error(`tests must run on Node 24 (found ${process.version}); run them with npm test`);
  }
}
