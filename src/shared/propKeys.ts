// The keys of `prop` rollup rows: event, property and value in one escaped string.

/**
 * A `prop` row's key: the event's name, the property and its value,
 * "|"-separated, with "\" and "|" escaped by a "\" in the name and the property
 * (the value is last, so it needs none): event "a|b" with property "c" and
 * event "a" with property "b|c" are different keys.
 */
export function propKey(event: string, property: string, value: string): string {
  return `${propGroup(event, property)}${value}`;
}
const escapeKeyPart = (part: string) => part.replace(/[\\|]/g, (c) => `\\${c}`);
const unescapeKeyPart = (part: string) => part.replace(/\\([\\|])/g, "$1");
/** The start of every `prop` key of one (event, property). */
export function propGroup(event: string, property: string): string {
  return `${escapeKeyPart(event)}|${escapeKeyPart(property)}|`;
}
/** A `prop` key's parts, or null for a key with fewer than two unescaped "|" ("(other)"). */
export function parsePropKey(
  key: string,
): { event: string; property: string; value: string } | null {
  const bars: number[] = [];
  for (let i = 0; i < key.length && bars.length < 2; i++) {
    if (key[i] === "\\") i++;
    else if (key[i] === "|") bars.push(i);
  }
  if (bars.length < 2) return null;
  const [first, second] = bars as [number, number];
  return {
    event: unescapeKeyPart(key.slice(0, first)),
    property: unescapeKeyPart(key.slice(first + 1, second)),
    value: key.slice(second + 1),
  };
}
