package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Python's {@code str.format} for the common cases: {@code {}}, {@code {0}}, {@code {name}},
 * {@code {name.attr}}, {@code !r}/{@code !s}, and specs of the form
 * {@code [[fill]align][sign][width][.precision][s|d|f]}. Anything else is reported, not guessed.
 */
final class StrFormat {
  private static final Pattern SPEC =
      Pattern.compile("(?:(.)?([<>^]))?([+\\- ])?(\\d+)?(?:\\.(\\d+))?([sdf%]?)");

  private StrFormat() {}

  static String format(String template, CallArgs args) {
    StringBuilder out = new StringBuilder();
    int auto = 0;
    boolean manual = false;
    int i = 0;
    while (i < template.length()) {
      char c = template.charAt(i);
      if ((c == '{' || c == '}') && i + 1 < template.length() && template.charAt(i + 1) == c) {
        out.append(c);
        i += 2;
      } else if (c == '}') {
        throw new TemplateException("single '}' encountered in format string");
      } else if (c == '{') {
        int close = template.indexOf('}', i);
        if (close < 0) {
          throw new TemplateException("single '{' encountered in format string");
        }
        String field = template.substring(i + 1, close);
        if (field.isEmpty() || field.startsWith(":") || field.startsWith("!")) {
          field = auto++ + field;
        } else if (Character.isDigit(field.charAt(0))) {
          manual = true;
        }
        if (manual && auto > 0) {
          throw new TemplateException("cannot switch between automatic and manual field numbering in format string");
        }
        out.append(replacement(field, args));
        i = close + 1;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  private static String replacement(String field, CallArgs args) {
    String spec = "";
    int colon = field.indexOf(':');
    if (colon >= 0) {
      spec = field.substring(colon + 1);
      field = field.substring(0, colon);
    }
    char conversion = 0;
    int bang = field.indexOf('!');
    if (bang >= 0) {
      conversion = field.length() > bang + 1 ? field.charAt(bang + 1) : '?';
      field = field.substring(0, bang);
    }
    Object value = lookup(field, args);
    if (conversion == 'r') {
      value = PyRepr.repr(value);
    } else if (conversion == 's') {
      value = PyRepr.str(value);
    } else if (conversion != 0) {
      throw new TemplateException("unsupported format conversion '!" + conversion + "'");
    }
    return applySpec(value, spec);
  }

  private static Object lookup(String field, CallArgs args) {
    String[] path = field.split("\\.", -1);
    Object value;
    if (!path[0].isEmpty() && path[0].chars().allMatch(Character::isDigit)) {
      int index = Integer.parseInt(path[0]);
      if (index >= args.positional().size()) {
        throw new TemplateException("replacement index " + index + " out of range for positional args tuple");
      }
      value = args.positional().get(index);
    } else if (args.keywords().containsKey(path[0])) {
      value = args.keywords().get(path[0]);
    } else {
      throw new TemplateException("unsupported or missing format field '" + field + "'");
    }
    for (int k = 1; k < path.length; k++) {
      value = Access.getAttr(value, path[k]);
    }
    return value;
  }

  private static String applySpec(Object value, String spec) {
    if (spec.isEmpty()) {
      return PyRepr.str(value);
    }
    Matcher m = SPEC.matcher(spec);
    if (!m.matches()) {
      throw new TemplateException("unsupported format spec '" + spec + "'");
    }
    String type = m.group(6);
    String text;
    if (type.equals("f") || (m.group(5) != null && Py.isFloat(value) && type.isEmpty())) {
      text = Printf.fixed(Py.toDouble(value), m.group(5) == null ? 6 : Integer.parseInt(m.group(5)));
    } else if (type.equals("d")) {
      text = Long.toString(Py.toLong(value));
    } else if (type.equals("%")) {
      throw new TemplateException("unsupported format spec '" + spec + "'");
    } else {
      text = PyRepr.str(value);
      if (m.group(5) != null) {
        int[] cps = PyStr.codePoints(text);
        text = PyStr.fromCodePoints(cps, 0, Math.min(cps.length, Integer.parseInt(m.group(5))));
      }
    }
    if ("+".equals(m.group(3)) && Py.isNumber(value) && !text.startsWith("-")) {
      text = "+" + text;
    }
    return align(text, value, m);
  }

  private static String align(String text, Object value, Matcher m) {
    int width = m.group(4) == null ? 0 : Integer.parseInt(m.group(4));
    int missing = width - PyStr.length(text);
    if (missing <= 0) {
      return text;
    }
    String fill = m.group(1) == null ? " " : m.group(1);
    char align = m.group(2) == null ? (Py.isNumber(value) ? '>' : '<') : m.group(2).charAt(0);
    if (align == '<') {
      return text + fill.repeat(missing);
    }
    if (align == '>') {
      return fill.repeat(missing) + text;
    }
    return fill.repeat(missing / 2) + text + fill.repeat(missing - missing / 2);
  }
}
