package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * Python arithmetic on template values. Integers stay exact (overflow is an error rather than a
 * wrapped value), {@code /} always yields a float, {@code //} and {@code %} floor like Python.
 */
final class PyOps {
  private PyOps() {}

  static Object binary(String op, Object a, Object b) {
    failIfUndefined(a);
    failIfUndefined(b);
    try {
      switch (op) {
        case "+":
          return add(a, b);
        case "-":
          return numeric(op, a, b);
        case "*":
          return multiply(a, b);
        case "/":
          return trueDivide(a, b);
        case "//":
        case "**":
          return numeric(op, a, b);
        case "%":
          return a instanceof String s ? Printf.format(s, b) : numeric(op, a, b);
        default:
          throw new TemplateException("unsupported operator '" + op + "'");
      }
    } catch (ArithmeticException e) {
      throw new TemplateException("integer overflow in '" + op + "'");
    }
  }

  private static void failIfUndefined(Object v) {
    if (v instanceof Undefined u) {
      throw u.error();
    }
  }

  private static TemplateException unsupported(String op, Object a, Object b) {
    return new TemplateException("unsupported operand type(s) for " + op + ": '" + Py.typeName(a)
        + "' and '" + Py.typeName(b) + "'");
  }

  private static Object add(Object a, Object b) {
    if (a instanceof String sa && b instanceof String sb) {
      return sa + sb;
    }
    if (a instanceof Tuple ta && b instanceof Tuple tb) {
      List<Object> out = new ArrayList<>(ta);
      out.addAll(tb);
      return new Tuple(out);
    }
    if (isPlainList(a) && isPlainList(b)) {
      List<Object> out = new ArrayList<>((List<?>) a);
      out.addAll((List<?>) b);
      return out;
    }
    if (a instanceof String || b instanceof String || !Py.isNumber(a) || !Py.isNumber(b)) {
      if (a instanceof String && !(b instanceof String)) {
        throw new TemplateException("can only concatenate str (not \"" + Py.typeName(b) + "\") to str");
      }
      throw unsupported("+", a, b);
    }
    return numeric("+", a, b);
  }

  private static boolean isPlainList(Object v) {
    return v instanceof List && !(v instanceof Tuple) && !(v instanceof PyRange);
  }

  private static Object multiply(Object a, Object b) {
    if (Py.isIntegral(b) && (a instanceof String || a instanceof List)) {
      return repeat(a, Py.toLong(b));
    }
    if (Py.isIntegral(a) && (b instanceof String || b instanceof List)) {
      return repeat(b, Py.toLong(a));
    }
    return numeric("*", a, b);
  }

  private static Object repeat(Object seq, long times) {
    if (seq instanceof String s) {
      return times <= 0 ? "" : s.repeat(Math.toIntExact(times));
    }
    if (seq instanceof PyRange) {
      throw unsupported("*", seq, times);
    }
    List<Object> out = new ArrayList<>();
    for (long i = 0; i < times; i++) {
      out.addAll((List<?>) seq);
    }
    return seq instanceof Tuple ? new Tuple(out) : out;
  }

  private static Object trueDivide(Object a, Object b) {
    if (!Py.isNumber(a) || !Py.isNumber(b)) {
      throw unsupported("/", a, b);
    }
    double divisor = Py.toDouble(b);
    if (divisor == 0.0) {
      throw new TemplateException("division by zero");
    }
    return Py.toDouble(a) / divisor;
  }

  private static Object numeric(String op, Object a, Object b) {
    if (!Py.isNumber(a) || !Py.isNumber(b)) {
      throw unsupported(op, a, b);
    }
    if (Py.isIntegral(a) && Py.isIntegral(b)) {
      return integer(op, Py.toLong(a), Py.toLong(b));
    }
    return floating(op, Py.toDouble(a), Py.toDouble(b));
  }

  private static Object integer(String op, long x, long y) {
    switch (op) {
      case "+":
        return Math.addExact(x, y);
      case "-":
        return Math.subtractExact(x, y);
      case "*":
        return Math.multiplyExact(x, y);
      case "//":
        checkDivisor(y);
        return Math.floorDiv(x, y);
      case "%":
        checkDivisor(y);
        return Math.floorMod(x, y);
      default:
        return y < 0 ? floating(op, x, y) : power(x, y);
    }
  }

  private static void checkDivisor(double y) {
    if (y == 0) {
      throw new TemplateException("integer division or modulo by zero");
    }
  }

  /** Exponentiation by squaring; an overflow surfaces as ArithmeticException. */
  private static long power(long base, long exponent) {
    long result = 1;
    long factor = base;
    long e = exponent;
    while (e > 0) {
      if ((e & 1) == 1) {
        result = Math.multiplyExact(result, factor);
      }
      e >>= 1;
      if (e > 0) {
        factor = Math.multiplyExact(factor, factor);
      }
    }
    return result;
  }

  private static Object floating(String op, double x, double y) {
    switch (op) {
      case "+":
        return x + y;
      case "-":
        return x - y;
      case "*":
        return x * y;
      case "//":
        checkDivisor(y);
        return Math.floor(x / y);
      case "%":
        checkDivisor(y);
        double r = x % y;
        return r != 0 && (r < 0) != (y < 0) ? r + y : r;
      default:
        if (x == 0.0 && y < 0) {
          throw new TemplateException("0.0 cannot be raised to a negative power");
        }
        return Math.pow(x, y);
    }
  }

  static Object negate(Object v) {
    failIfUndefined(v);
    if (Py.isIntegral(v)) {
      return Math.negateExact(Py.toLong(v));
    }
    if (Py.isFloat(v)) {
      return -Py.toDouble(v);
    }
    throw new TemplateException("bad operand type for unary -: '" + Py.typeName(v) + "'");
  }

  static Object plus(Object v) {
    failIfUndefined(v);
    if (Py.isIntegral(v)) {
      return Py.toLong(v);
    }
    if (Py.isFloat(v)) {
      return Py.toDouble(v);
    }
    throw new TemplateException("bad operand type for unary +: '" + Py.typeName(v) + "'");
  }
}
