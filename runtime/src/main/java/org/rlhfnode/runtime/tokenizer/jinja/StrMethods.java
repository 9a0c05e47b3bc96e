package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Python {@code str} methods for templates ({@code startswith}, {@code split}, {@code strip}, ...). */
final class StrMethods {
  private StrMethods() {}

  static Object call(String s, String name, CallArgs args) {
    String what = "str." + name + "()";
    switch (name) {
      case "startswith":
      case "endswith":
        return affix(s, name.equals("startswith"), args.bind(what, "prefix", "start", "end"));
      case "split":
      case "rsplit":
        return split(s, name.equals("split"), args.bind(what, "sep", "maxsplit"));
      case "splitlines":
        args.bind(what);
        return new ArrayList<Object>(PyStr.splitlines(s));
      case "strip":
        return PyStr.strip(s, chars(args.bind(what, "chars")[0]));
      case "lstrip":
        return PyStr.lstrip(s, chars(args.bind(what, "chars")[0]));
      case "rstrip":
        return PyStr.rstrip(s, chars(args.bind(what, "chars")[0]));
      case "replace": {
        Object[] a = args.bind(what, "old", "new", "count");
        return PyStr.replace(s, text(a[0], what), text(a[1], what), a[2] == CallArgs.MISSING ? -1 : Py.toLong(a[2]));
      }
      case "format":
        return StrFormat.format(s, args);
      default:
        return noArgs(s, name, args, what);
    }
  }

  private static Object noArgs(String s, String name, CallArgs args, String what) {
    switch (name) {
      case "upper":
        args.bind(what);
        return PyStr.upper(s);
      case "lower":
        args.bind(what);
        return PyStr.lower(s);
      case "title":
        args.bind(what);
        return PyStr.title(s);
      case "capitalize":
        args.bind(what);
        return PyStr.capitalize(s);
      case "swapcase":
        args.bind(what);
        return swapcase(s);
      default:
        return search(s, name, args, what);
    }
  }

  private static Object search(String s, String name, CallArgs args, String what) {
    switch (name) {
      case "find":
      case "rfind":
      case "index":
      case "rindex": {
        String sub = text(args.bind(what, "sub")[0], what);
        long at = PyStr.find(s, sub, name.startsWith("r"));
        if (at < 0 && name.endsWith("index")) {
          throw new TemplateException("substring not found");
        }
        return at;
      }
      case "count":
        return PyStr.count(s, text(args.bind(what, "sub")[0], what));
      case "join": {
        StringBuilder sb = new StringBuilder();
        List<Object> items = Py.iterate(args.bind(what, "iterable")[0]);
        for (int i = 0; i < items.size(); i++) {
          sb.append(i > 0 ? s : "").append(text(items.get(i), "sequence item " + i));
        }
        return sb.toString();
      }
      case "removeprefix": {
        String p = text(args.bind(what, "prefix")[0], what);
        return s.startsWith(p) ? s.substring(p.length()) : s;
      }
      case "removesuffix": {
        String p = text(args.bind(what, "suffix")[0], what);
        return s.endsWith(p) && !p.isEmpty() ? s.substring(0, s.length() - p.length()) : s;
      }
      default:
        return predicate(s, name, args, what);
    }
  }

  private static final Set<String> PREDICATES = Set.of("isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper");

  private static Object predicate(String s, String name, CallArgs args, String what) {
    if (!PREDICATES.contains(name)) {
      throw new TemplateException("unsupported string method '" + name + "'");
    }
    args.bind(what);
    int[] cps = PyStr.codePoints(s);
    switch (name) {
      case "isdigit":
        return cps.length > 0 && s.codePoints().allMatch(Character::isDigit);
      case "isalpha":
        return cps.length > 0 && s.codePoints().allMatch(Character::isLetter);
      case "isalnum":
        return cps.length > 0 && s.codePoints().allMatch(Character::isLetterOrDigit);
      case "isspace":
        return cps.length > 0 && s.codePoints().allMatch(PyStr::isSpace);
      case "islower":
        return s.codePoints().anyMatch(Character::isLowerCase) && PyStr.lower(s).equals(s);
      case "isupper":
        return s.codePoints().anyMatch(Character::isUpperCase) && PyStr.upper(s).equals(s);
      default:
        throw new TemplateException("unsupported string method '" + name + "'");
    }
  }

  private static String chars(Object v) {
    return v == CallArgs.MISSING || v == null ? null : text(v, "strip arg");
  }

  static String text(Object v, String what) {
    if (v instanceof String s) {
      return s;
    }
    if (v == CallArgs.MISSING) {
      throw new TemplateException(what + " missing a required argument");
    }
    if (v instanceof Undefined u) {
      throw u.error();
    }
    throw new TemplateException(what + ": expected str, got " + Py.typeName(v));
  }

  private static Object affix(String s, boolean start, Object[] a) {
    int[] cps = PyStr.codePoints(s);
    int from = a[1] == CallArgs.MISSING || a[1] == null ? 0 : bound(Py.toLong(a[1]), cps.length);
    int to = a[2] == CallArgs.MISSING || a[2] == null ? cps.length : bound(Py.toLong(a[2]), cps.length);
    String window = PyStr.fromCodePoints(cps, from, to);
    List<Object> options = a[0] instanceof Tuple t ? t : List.of(text(a[0], start ? "startswith" : "endswith"));
    for (Object option : options) {
      String o = text(option, "affix");
      if (from <= cps.length && (start ? window.startsWith(o) : window.endsWith(o))) {
        return true;
      }
    }
    return false;
  }

  private static int bound(long i, int length) {
    long v = i < 0 ? i + length : i;
    return (int) Math.max(0, Math.min(length, v));
  }

  private static Object split(String s, boolean fromLeft, Object[] a) {
    String sep = a[0] == CallArgs.MISSING || a[0] == null ? null : text(a[0], "separator");
    long max = a[1] == CallArgs.MISSING ? -1 : Py.toLong(a[1]);
    List<String> parts = fromLeft ? PyStr.split(s, sep, max) : PyStr.rsplit(s, sep, max);
    return new ArrayList<Object>(parts);
  }

  private static String swapcase(String s) {
    StringBuilder sb = new StringBuilder();
    s.codePoints().forEach(c -> sb.appendCodePoint(
        Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.isLowerCase(c) ? Character.toUpperCase(c) : c));
    return sb.toString();
  }
}
