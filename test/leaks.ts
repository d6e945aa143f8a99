/**
 * Checks that text shown to a user holds no credential, not even in part.
 */
import { assert } from "@effect/vitest"

/** The length of the pieces of a secret that must never appear. */
export const fragmentLength = 8

/** A key without its public prefix ("sk-", "sk-proj-", "sk-ant-api03-"): the part that is secret. */
export const secretPart = (key: string): string => key.replace(/^(?:sk-ant-api\d+-|sk-ant-|sk-proj-|sk-)/, "")

/** The 8-character piece of `secret`'s secret part that `text` holds, if any, and where. */
export const findFragment = (
  text: string,
  secret: string
): { readonly fragment: string; readonly at: number } | undefined => {
  const part = secretPart(secret)
  for (let i = 0; i + fragmentLength <= part.length; i++) {
    const fragment = part.slice(i, i + fragmentLength)
    const at = text.indexOf(fragment)
    if (at >= 0) return { fragment, at }
  }
  return undefined
}

/** Fails, showing where, when `text` holds any 8-character piece of the secret part of `secret`. */
export const assertNoFragment = (text: string, secret: string, what = "the text"): void => {
  const found = findFragment(text, secret)
  if (found === undefined) return
  const context = text.slice(Math.max(0, found.at - 60), found.at + fragmentLength + 20)
  assert.fail(`${what} holds ${JSON.stringify(found.fragment)} of the secret at ${found.at}: …${context}…`)
}
