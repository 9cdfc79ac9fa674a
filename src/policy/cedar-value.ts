/**
 * A value as Cedar's JSON format reads it: strings, booleans, integers (Cedar `Long`; a
 * fraction is a marshalling error, which denies), sets as arrays, records as objects.
 * A record whose only key is `__entity` or `__extn` is Cedar's escape for an entity
 * reference or an extension value (`ip`, `decimal`, ...). `null` is not a Cedar value.
 */
export type CedarValue = string | number | boolean | readonly CedarValue[] | { readonly [key: string]: CedarValue };
