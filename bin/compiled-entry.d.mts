// Types of compiled-entry.mjs, for the TypeScript that imports it.
export declare const installRoot: string;
export declare const distDirectory: string;
export declare const buildStamp: string;
export declare function compiledEntry(root?: string): string | undefined;
