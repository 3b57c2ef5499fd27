/** Edits of a JSON tree by dotted path, for building invalid events in specs. */
export type JsonObject = Record<string, unknown>;
export type Edit = (json: JsonObject) => void;

export function set(path: string, value: unknown): Edit {
  return (json) => {
    const [parent, key] = walk(json, path);
    parent[key] = value;
  };
}

export function remove(path: string): Edit {
  return (json) => {
    const [parent, key] = walk(json, path);
    delete parent[key];
  };
}

/** A deep, plain-JSON copy of `event` with the edits applied. */
export function edited(event: object, ...edits: Edit[]): JsonObject {
  const json = JSON.parse(JSON.stringify(event)) as JsonObject;
  for (const edit of edits) edit(json);
  return json;
}

function walk(json: JsonObject, path: string): [JsonObject, string] {
  const keys = path.split('.');
  const last = keys.pop()!;
  let node = json;
  for (const key of keys) node = node[key] as JsonObject;
  return [node, last];
}
