package org.rlhfnode.runtime.tokenizer.jinja;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/** Python's {@code datetime.strftime} in the C locale, for HF's {@code strftime_now} global. */
final class Strftime {
  private Strftime() {}

  static String format(LocalDateTime t, String pattern) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < pattern.length()) {
      char c = pattern.charAt(i++);
      if (c != '%' || i >= pattern.length()) {
        out.append(c);
        continue;
      }
      boolean unpadded = pattern.charAt(i) == '-' && i + 1 < pattern.length();
      char directive = pattern.charAt(unpadded ? i + 1 : i);
      i += unpadded ? 2 : 1;
      out.append(directive(t, directive, unpadded));
    }
    return out.toString();
  }

  private static String directive(LocalDateTime t, char d, boolean unpadded) {
    switch (d) {
      case 'a':
        return t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
      case 'A':
        return t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
      case 'b':
      case 'h':
        return t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
      case 'B':
        return t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
      case 'p':
        return t.getHour() < 12 ? "AM" : "PM";
      case 'Y':
        return Integer.toString(t.getYear());
      case 'w':
        return Integer.toString(t.getDayOfWeek().getValue() % 7);
      case 'f':
        return String.format("%06d", t.getNano() / 1000);
      case 'z':
      case 'Z':
        return "";
      case '%':
        return "%";
      default:
        return numeric(t, d, unpadded);
    }
  }

  private static String numeric(LocalDateTime t, char d, boolean unpadded) {
    int value;
    int width = 2;
    switch (d) {
      case 'd':
        value = t.getDayOfMonth();
        break;
      case 'e':
        return String.format("%2d", t.getDayOfMonth());
      case 'm':
        value = t.getMonthValue();
        break;
      case 'y':
        value = t.getYear() % 100;
        break;
      case 'H':
        value = t.getHour();
        break;
      case 'I':
        value = t.getHour() % 12 == 0 ? 12 : t.getHour() % 12;
        break;
      case 'M':
        value = t.getMinute();
        break;
      case 'S':
        value = t.getSecond();
        break;
      case 'j':
        value = t.getDayOfYear();
        width = 3;
        break;
      default:
        throw new TemplateException("unsupported strftime directive '%" + d + "'");
    }
    return unpadded ? Integer.toString(value) : String.format("%0" + width + "d", value);
  }
}
