// Character classes of PostgreSQL's SQL scanner (scan.l), as UTF-16 code units. Pure functions.

/** Identifier start: letter, underscore or any non-ASCII character (PostgreSQL's ident_start). */
export function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

export function isIdentChar(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** PostgreSQL operator characters. */
export function isOpChar(c: number): boolean {
  switch (c) {
    case 43:
    case 45:
    case 42:
    case 47:
    case 60:
    case 62:
    case 61:
    case 126:
    case 33:
    case 64:
    case 35:
    case 37:
    case 94:
    case 38:
    case 124:
    case 96:
    case 63:
      return true;
    default:
      return false;
  }
}
