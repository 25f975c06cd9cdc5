// Compiled on its own by types.test.ts: an expected error that does not happen must fail the check.
// @ts-expect-error nothing is wrong on the next line
export const fine: string = 'fine'
