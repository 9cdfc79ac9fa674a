// Original file: null

export const NullValue = {
  NULL_VALUE: 0,
} as const;

export type OutgoingNullValue =
  | 'NULL_VALUE'
  | 0

export type NullValue = typeof NullValue[keyof typeof NullValue]
