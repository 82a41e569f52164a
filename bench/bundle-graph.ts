import { build, type Metafile } from 'esbuild';
import { BUNDLE_OPTIONS } from './hot-path.ts';

export interface SdkImports {
  /** loaded when the module is imported: cold start */
  static: string[];
  /** loaded by an `import()` the first time code needs it */
  dynamic: string[];
}

/** The external AWS SDK packages a bundle imports, split by when they load. */
export function sdkImportsOf(metafile: Metafile): SdkImports {
  const imports = Object.values(metafile.outputs).flatMap((output) => output.imports);
  const sdk = (kind: string) =>
    [
      ...new Set(
        imports
          .filter(
            (entry) => entry.external && entry.kind === kind && entry.path.startsWith('@aws-sdk/'),
          )
          .map((entry) => entry.path),
      ),
    ].sort();
  return { static: sdk('import-statement'), dynamic: sdk('dynamic-import') };
}

/** Bundles one function as `osls package` would, to `outfile` (or in memory when absent). */
export async function bundleFunction(entry: string, outfile?: string): Promise<Metafile> {
  const result = await build({
    ...BUNDLE_OPTIONS,
    mainFields: [...BUNDLE_OPTIONS.mainFields],
    external: [...BUNDLE_OPTIONS.external],
    entryPoints: [entry],
    metafile: true,
    logLevel: 'silent',
    ...(outfile ? { outfile } : { write: false, outfile: 'out.mjs' }),
  });
  return result.metafile;
}
