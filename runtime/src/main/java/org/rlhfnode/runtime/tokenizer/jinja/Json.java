package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps}, which HuggingFace's {@code tojson} filter calls with
 * {@code ensure_ascii=False}: separators {@code ", "} and {@code ": "} (or {@code ","} with an
 * indent), keys in insertion order, floats as Python's repr, no HTML escaping.
 */
final class Json {
  private final boolean ensureAscii;
  private final String indent;
  private final String itemSeparator;
  private final String keySeparator;
  private final boolean sortKeys;

  Json(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
    this.ensureAscii = ensureAscii;
    this.indent = indent;
    this.itemSeparator = itemSeparator != null ? itemSeparator : indent == null ? ", " : ",";
    this.keySeparator = keySeparator != null ? keySeparator : ": ";
    this.sortKeys = sortKeys;
  }

  String dumps(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, 0);
    return sb.toString();
  }

  private void write(StringBuilder sb, Object v, int level) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof Boolean b) {
      sb.append(b ? "true" : "false");
    } else if (Py.isInt(v)) {
      sb.append(v);
    } else if (Py.isFloat(v)) {
      sb.append(floatText(Py.toDouble(v)));
    } else if (v instanceof String s) {
      writeString(sb, s);
    } else if (v instanceof List<?> list && !(v instanceof PyRange)) {
      writeArray(sb, list, level);
    } else if (v instanceof Map<?, ?> map) {
      writeObject(sb, map, level);
    } else {
      throw new TemplateException("Object of type " + Py.typeName(v) + " is not JSON serializable");
    }
  }

  private static String floatText(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    return PyRepr.floatRepr(d);
  }

  private void writeArray(StringBuilder sb, List<?> list, int level) {
    if (list.isEmpty()) {
      sb.append("[]");
      return;
    }
    sb.append('[');
    String separator = openLevel(sb, level + 1);
    for (int i = 0; i < list.size(); i++) {
      if (i > 0) {
        sb.append(separator);
      }
      write(sb, list.get(i), level + 1);
    }
    closeLevel(sb, level);
    sb.append(']');
  }

  private void writeObject(StringBuilder sb, Map<?, ?> map, int level) {
    if (map.isEmpty()) {
      sb.append("{}");
      return;
    }
    List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
    if (sortKeys) {
      entries.sort((a, b) -> Py.compare(a.getKey(), b.getKey(), "<"));
    }
    sb.append('{');
    String separator = openLevel(sb, level + 1);
    boolean first = true;
    for (Map.Entry<?, ?> e : entries) {
      if (!first) {
        sb.append(separator);
      }
      first = false;
      writeString(sb, keyText(e.getKey()));
      sb.append(keySeparator);
      write(sb, e.getValue(), level + 1);
    }
    closeLevel(sb, level);
    sb.append('}');
  }

  /** Starts a nested level; returns the separator placed between its items. */
  private String openLevel(StringBuilder sb, int level) {
    if (indent == null) {
      return itemSeparator;
    }
    String newline = "\n" + indent.repeat(level);
    sb.append(newline);
    return itemSeparator + newline;
  }

  private void closeLevel(StringBuilder sb, int level) {
    if (indent != null) {
      sb.append('\n').append(indent.repeat(level));
    }
  }

  private static String keyText(Object key) {
    if (key instanceof String s) {
      return s;
    }
    if (key == null) {
      return "null";
    }
    if (key instanceof Boolean b) {
      return b ? "true" : "false";
    }
    if (Py.isInt(key)) {
      return key.toString();
    }
    if (Py.isFloat(key)) {
      return floatText(Py.toDouble(key));
    }
    throw new TemplateException("keys must be str, int, float, bool or None, not " + Py.typeName(key));
  }

  private void writeString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        case '\b':
          sb.append("\\b");
          break;
        case '\f':
          sb.append("\\f");
          break;
        default:
          boolean escape = c < 0x20 || (ensureAscii && c > 0x7e);
          sb.append(escape ? String.format("\\u%04x", (int) c) : String.valueOf(c));
      }
    }
    sb.append('"');
  }
}
