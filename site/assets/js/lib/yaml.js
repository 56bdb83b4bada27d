/* The YAML a request file is written as: PyYAML's safe_dump(data, sort_keys=False,
 * allow_unicode=True, width=100) as Request.to_yaml() calls it, for the shapes a request
 * has (a mapping of scalars, one nested mapping, one list of mappings). A browser test
 * compares the Submit form's output with `shlepa submit`'s byte for byte.
 *
 * A string is written plain when PyYAML would (its analyze_scalar rules, and the plain
 * text would not read back as a bool, number, null or timestamp: its YAML 1.1 implicit
 * resolvers), else single-quoted, else (control characters) double-quoted.
 */

const IMPLICIT = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
];
const SPACE = "\0 \t\r\n\x85\u2028\u2029";

function printable(ch) {
  const c = ch.codePointAt(0);
  if (ch === "\n" || (c >= 0x20 && c <= 0x7e)) return true;
  return ch !== "\ufeff" && (c === 0x85 || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c < 0x10ffff));
}

/* PyYAML's Emitter.analyze_scalar, for block context: [plain allowed, single quotes allowed]. */
function analyze(s) {
  if (!s) return [false, true];
  const chars = Array.from(s);
  if (s.startsWith("---") || s.startsWith("...")) return [false, true];
  let block = false, special = false, breaks = false;
  let preceded = true, followed = chars.length === 1 || SPACE.includes(chars[1]);
  chars.forEach((ch, i) => {
    if (i === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) block = true;
      if ("?:".includes(ch) && followed) block = true;
      if (ch === "-" && followed) block = true;
    } else {
      if (ch === ":" && followed) block = true;
      if (ch === "#" && preceded) block = true;
    }
    if ("\n\x85\u2028\u2029".includes(ch)) breaks = true;
    if (!printable(ch)) special = true;
    preceded = SPACE.includes(ch);
    followed = i + 1 >= chars.length - 1 || SPACE.includes(chars[i + 2]);
  });
  const edgeSpace = /^[ \n]|[ \n]$/.test(s);
  if (special || breaks || /\n /.test(s) || / \n/.test(s)) return [false, !special && !/\n /.test(s) && !/ \n/.test(s) && !breaks];
  return [!edgeSpace && !block, true];
}

const ESCAPES = {"\0": "0", "\x07": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
  "\x1b": "e", "\x85": "N", "\u2028": "L", "\u2029": "P"};

function doubleQuoted(s) {
  return "\"" + Array.from(s).map((ch) => {
    if (ch === "\"" || ch === "\\") return "\\" + ch;
    if (ch in ESCAPES) return "\\" + ESCAPES[ch];
    if (printable(ch) && ch !== "\n") return ch;
    const c = ch.codePointAt(0);
    return c <= 0xff ? "\\x" + c.toString(16).toUpperCase().padStart(2, "0") : "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
  }).join("") + "\"";
}

/* One string as PyYAML writes it (single line; request values never need folding). */
export function yamlString(s) {
  const [plain, single] = analyze(s);
  if (plain && !IMPLICIT.some((re) => re.test(s))) return s;
  if (single) return "'" + s.replace(/'/g, "''") + "'";
  return doubleQuoted(s);
}

/* A number as Python's repr (PyYAML's float form: 7.0, not 7). */
export function yamlNumber(x, isFloat) {
  if (!isFloat) return String(x);
  if (Number.isInteger(x)) return x.toFixed(1);
  const text = String(x).toLowerCase();
  return text.includes("e") && !text.includes(".") ? text.replace("e", ".0e") : text;
}

function scalar(v) {
  if (v === true) return "true";
  if (v === false) return "false";
  if (v && typeof v === "object" && "float" in v) return yamlNumber(v.float, true);
  if (typeof v === "number") return yamlNumber(v, false);
  return yamlString(String(v));
}

function isMapping(v) { return v && typeof v === "object" && !Array.isArray(v) && !("float" in v); }

/* A mapping (insertion order) as block YAML; floats are passed as {float: x}, null/undefined values left out. */
export function dumpMapping(obj, indent = "") {
  const lines = [];
  for (const [key, value] of Object.entries(obj)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      lines.push(indent + key + ":");
      for (const item of value) {
        const inner = dumpMapping(item, indent + "  ").split("\n").filter(Boolean);
        inner[0] = indent + "- " + inner[0].slice(indent.length + 2);
        lines.push(...inner);
      }
    } else if (isMapping(value)) {
      lines.push(indent + key + ":");
      lines.push(dumpMapping(value, indent + "  ").replace(/\n$/, ""));
    } else {
      lines.push(indent + key + ": " + scalar(value));
    }
  }
  return lines.join("\n") + "\n";
}
