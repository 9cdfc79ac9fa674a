/**
 * A value as Cedar's JSON format reads it: strings, booleans, integers (Cedar `Long`; a
 * fraction is a marshalling error, which denies), sets as arrays, records as objects.
 * A record whose only key is `__entity` or `__extn` is Cedar's escape for an entity
 * reference or an extension value (`ip`, `decimal`, ...). `null` is not a Cedar value.
 *
 * It lives in identity, the lowest layer that speaks Cedar values (a principal's
 * attributes), so that policy and relay (payloads rendered for Cedar) share it without
 * importing upwards (docs/architecture.md, Folders).
 */
export type CedarValue = string | number | boolean | readonly CedarValue[] | { readonly [key: string]: CedarValue };
