// dcmjs ships no type declarations; this declares the small part the bridge uses.
declare module 'dcmjs' {
  interface ReadOptions {
    ignoreErrors: boolean;
    untilTag: string | null;
    includeUntilTagValue: boolean;
    noCopy: boolean;
    forceStoreRaw: boolean;
  }
  interface DicomDict {
    meta: Record<string, unknown>;
    dict: Record<string, unknown>;
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomMessage: {
        readFile(buffer: ArrayBuffer, options: ReadOptions): DicomDict;
      };
      DicomMetaDictionary: {
        naturalizeDataset(dict: Record<string, unknown>): Record<string, unknown>;
        /** PS3.6 entries by "(GGGG,EEEE)" (upper-case hex); repeating groups included. */
        dictionary: Record<string, { vr: string; name: string } | undefined>;
      };
    };
    log: {
      setLevel(level: string): void;
      getLogger(name: string): { setLevel(level: string): void };
    };
  };
  export default dcmjs;
}
