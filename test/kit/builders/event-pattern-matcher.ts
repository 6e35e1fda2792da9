/**
 * An EventBridge event-pattern matcher for the part of the pattern syntax this project uses:
 * exact values (strings, numbers, booleans, null), prefix, suffix, equals-ignore-case,
 * anything-but (values, prefix, suffix), exists, numeric, nested objects and $or.
 * Semantics follow the EventBridge user guide, "Event patterns" and "Content filtering":
 * - every field in the pattern must match (AND); `$or` needs one of its sub-patterns to match;
 * - a leaf is a list of matchers; it matches when any matcher matches (OR);
 * - when the event's value is an array, the leaf matches when any element matches;
 * - a field the event does not have matches nothing, except `{"exists": false}`;
 * - a leaf matches only scalar values: an object in the event never equals a pattern value.
 * Anything else (e.g. wildcard, cidr) throws, so a pattern using unsupported syntax fails its test.
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
const MISSING = Symbol('missing');
type Value = Json | typeof MISSING;

export class UnsupportedPatternError extends Error {
  override readonly name = 'UnsupportedPatternError';
}

export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new UnsupportedPatternError('an event pattern must be a JSON object');
  return matchObject(pattern, event as Json);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matchObject(pattern: Record<string, unknown>, event: Json | typeof MISSING): boolean {
  return Object.entries(pattern).every(([key, sub]) => {
    if (key === '$or') {
      if (!Array.isArray(sub) || sub.length < 2) {
        throw new UnsupportedPatternError('$or must be a list of at least two patterns');
      }
      return sub.some((alternative) => {
        if (!isObject(alternative))
          throw new UnsupportedPatternError('each $or alternative must be an object');
        return matchObject(alternative, event);
      });
    }
    const value: Value = isObject(event) && key in event ? (event[key] as Json) : MISSING;
    if (isObject(sub)) return matchObject(sub, value);
    if (Array.isArray(sub)) return matchLeaf(sub, value);
    throw new UnsupportedPatternError(`pattern field "${key}" must be an object or a list of matchers`);
  });
}

function matchLeaf(matchers: unknown[], value: Value): boolean {
  if (matchers.length === 0) throw new UnsupportedPatternError('a list of matchers must not be empty');
  const candidates: Value[] = Array.isArray(value) ? value : [value];
  return matchers.some((matcher) =>
    isObject(matcher) && 'exists' in matcher
      ? existsMatches(matcher, value)
      : candidates.some((candidate) => matchOne(matcher, candidate)),
  );
}

function existsMatches(matcher: Record<string, unknown>, value: Value): boolean {
  if (typeof matcher.exists !== 'boolean' || Object.keys(matcher).length !== 1) {
    throw new UnsupportedPatternError('exists takes true or false and nothing else');
  }
  return matcher.exists === (value !== MISSING);
}

function isScalar(value: Value): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function matchOne(matcher: unknown, value: Value): boolean {
  if (value === MISSING || !isScalar(value)) return false;
  if (!isObject(matcher)) {
    if (!isScalar(matcher as Value)) throw new UnsupportedPatternError('exact values must be scalars');
    return matcher === value;
  }
  const keys = Object.keys(matcher);
  if (keys.length !== 1) throw new UnsupportedPatternError(`a matcher has exactly one operator, got ${keys}`);
  const [operator] = keys as [string];
  const operand = matcher[operator];
  switch (operator) {
    case 'prefix':
      return stringOperand(operand, (s, o) => s.startsWith(o), value);
    case 'suffix':
      return stringOperand(operand, (s, o) => s.endsWith(o), value);
    case 'equals-ignore-case':
      if (typeof operand !== 'string') throw new UnsupportedPatternError('equals-ignore-case takes a string');
      return typeof value === 'string' && value.toLowerCase() === operand.toLowerCase();
    case 'anything-but':
      return anythingBut(operand, value);
    case 'numeric':
      return numeric(operand, value);
    default:
      throw new UnsupportedPatternError(`operator "${operator}" is not supported by this matcher`);
  }
}

function stringOperand(
  operand: unknown,
  test: (value: string, operand: string) => boolean,
  value: Value,
): boolean {
  if (typeof operand === 'string') return typeof value === 'string' && test(value, operand);
  if (isObject(operand) && typeof operand['equals-ignore-case'] === 'string') {
    const o = operand['equals-ignore-case'];
    return typeof value === 'string' && test(value.toLowerCase(), o.toLowerCase());
  }
  throw new UnsupportedPatternError('prefix/suffix take a string or {"equals-ignore-case": string}');
}

function anythingBut(operand: unknown, value: Value): boolean {
  if (Array.isArray(operand)) {
    if (operand.length === 0) throw new UnsupportedPatternError('anything-but needs at least one value');
    if (!operand.every((o) => isScalar(o as Value))) {
      throw new UnsupportedPatternError('anything-but lists scalars');
    }
    return !operand.includes(value);
  }
  if (isObject(operand)) return !matchOne(operand, value);
  if (isScalar(operand as Value)) return operand !== value;
  throw new UnsupportedPatternError('anything-but takes a value, a list of values, or {prefix|suffix}');
}

function numeric(operand: unknown, value: Value): boolean {
  if (!Array.isArray(operand) || operand.length % 2 !== 0 || operand.length === 0) {
    throw new UnsupportedPatternError('numeric takes [operator, number, …] pairs');
  }
  if (typeof value !== 'number') return false;
  for (let i = 0; i < operand.length; i += 2) {
    const op = operand[i];
    const bound = operand[i + 1];
    if (typeof bound !== 'number') throw new UnsupportedPatternError('numeric bounds are numbers');
    const ok =
      op === '<'
        ? value < bound
        : op === '<='
          ? value <= bound
          : op === '='
            ? value === bound
            : op === '>='
              ? value >= bound
              : op === '>'
                ? value > bound
                : undefined;
    if (ok === undefined)
      throw new UnsupportedPatternError(`numeric operator ${String(op)} is not supported`);
    if (!ok) return false;
  }
  return true;
}
