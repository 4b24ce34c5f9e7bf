/** RFC 8628 §6.1 user codes: what a person reads off a device and types, or scans. */

/** Consonants only (no vowels, so no words), no look-alikes. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

export function newUserCode(): string {
  // 20 letters; rejection sampling keeps each one equally likely.
  const letters: string[] = [];
  while (letters.length < 8) {
    for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
      if (byte < 240 && letters.length < 8) letters.push(USER_CODE_ALPHABET[byte % 20]!);
    }
  }
  return `${letters.slice(0, 4).join('')}-${letters.slice(4).join('')}`;
}

/** What a user may type: any case, with or without the dash. */
export function normalizeUserCode(input: string): string | undefined {
  const letters = input.toUpperCase().replace(/[^A-Z]/g, '');
  if (letters.length !== 8 || [...letters].some((letter) => !USER_CODE_ALPHABET.includes(letter))) return undefined;
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

/** A user code as issued (and stored as a login id): what a guess at a device login looks like. */
const ISSUED = new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`);
export const isUserCode = (id: string) => ISSUED.test(id);
