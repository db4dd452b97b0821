// Types of compiled-entry.mjs, for the TypeScript that imports it.
export declare const installRoot: string;
export declare function distPaths(root?: string): { readonly directory: string; readonly stamp: string; readonly entry: string };
export declare function compiledEntry(root?: string): string | undefined;
