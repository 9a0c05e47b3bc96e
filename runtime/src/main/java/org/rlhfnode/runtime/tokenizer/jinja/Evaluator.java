package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Evaluates expression nodes to Python-semantics values; errors are tagged with the node's line. */
final class Evaluator {
  Object eval(Expr e, Scope s) {
    try {
      return evaluate(e, s);
    } catch (TemplateException ex) {
      throw ex.atLine(e.line());
    }
  }

  private Object evaluate(Expr e, Scope s) {
    if (e instanceof Expr.Const c) {
      return c.value();
    }
    if (e instanceof Expr.Name n) {
      Object v = s.lookup(n.name());
      return v == Scope.MISSING ? Undefined.variable(n.name()) : v;
    }
    if (e instanceof Expr.Attr a) {
      return Access.getAttr(eval(a.target(), s), a.name());
    }
    if (e instanceof Expr.Item i) {
      return Access.getItem(eval(i.target(), s), eval(i.index(), s));
    }
    if (e instanceof Expr.Filter f) {
      return applyFilter(eval(f.target(), s), f, s);
    }
    if (e instanceof Expr.Test t) {
      boolean passed = Tests.apply(t.name(), eval(t.target(), s), args(t.args(), s));
      return passed != t.negated();
    }
    if (e instanceof Expr.Call c) {
      return invoke(eval(c.callee(), s), args(c.args(), s));
    }
    return evaluateOperator(e, s);
  }

  private Object evaluateOperator(Expr e, Scope s) {
    if (e instanceof Expr.Binary b) {
      return binary(b, s);
    }
    if (e instanceof Expr.Unary u) {
      Object v = eval(u.operand(), s);
      return u.op().equals("not") ? !Py.truthy(v) : u.op().equals("-") ? PyOps.negate(v) : PyOps.plus(v);
    }
    if (e instanceof Expr.Compare c) {
      return compare(c, s);
    }
    if (e instanceof Expr.Cond c) {
      if (Py.truthy(eval(c.test(), s))) {
        return eval(c.then(), s);
      }
      return c.orElse() != null ? eval(c.orElse(), s)
          : Undefined.because("the inline if-expression evaluated to false and no else section was defined");
    }
    if (e instanceof Expr.Slice sl) {
      return Access.slice(eval(sl.target(), s), optional(sl.start(), s), optional(sl.stop(), s),
          optional(sl.step(), s));
    }
    return evaluateLiteral(e, s);
  }

  private Object evaluateLiteral(Expr e, Scope s) {
    if (e instanceof Expr.ListLit l) {
      return evalAll(l.items(), s);
    }
    if (e instanceof Expr.TupleLit t) {
      return new Tuple(evalAll(t.items(), s));
    }
    if (e instanceof Expr.DictLit d) {
      Map<Object, Object> out = new LinkedHashMap<>();
      for (int i = 0; i < d.keys().size(); i++) {
        Object key = eval(d.keys().get(i), s);
        Py.checkHashable(key);
        Object existing = Py.findKey(out, key);
        out.put(existing == Scope.MISSING ? key : existing, eval(d.values().get(i), s));
      }
      return out;
    }
    throw new IllegalStateException("unknown expression node " + e);
  }

  private List<Object> evalAll(List<Expr> exprs, Scope s) {
    List<Object> out = new ArrayList<>(exprs.size());
    for (Expr x : exprs) {
      out.add(eval(x, s));
    }
    return out;
  }

  private Object optional(Expr e, Scope s) {
    return e == null ? null : eval(e, s);
  }

  private Object binary(Expr.Binary b, Scope s) {
    Object left = eval(b.left(), s);
    switch (b.op()) {
      case "and":
        return Py.truthy(left) ? eval(b.right(), s) : left;
      case "or":
        return Py.truthy(left) ? left : eval(b.right(), s);
      case "~":
        return PyRepr.str(left) + PyRepr.str(eval(b.right(), s));
      default:
        return PyOps.binary(b.op(), left, eval(b.right(), s));
    }
  }

  /** A Python comparison chain: each operand is evaluated once and the chain stops at the first false. */
  private Object compare(Expr.Compare c, Scope s) {
    Object left = eval(c.first(), s);
    for (int i = 0; i < c.ops().size(); i++) {
      Object right = eval(c.operands().get(i), s);
      if (!compareOne(c.ops().get(i), left, right)) {
        return false;
      }
      left = right;
    }
    return true;
  }

  private static boolean compareOne(String op, Object a, Object b) {
    switch (op) {
      case "==":
        return Py.eq(a, b);
      case "!=":
        return !Py.eq(a, b);
      case "in":
        return Py.contains(b, a);
      case "not in":
        return !Py.contains(b, a);
      case "<":
        return Py.compare(a, b, op) < 0;
      case "<=":
        return Py.compare(a, b, op) <= 0;
      case ">":
        return Py.compare(a, b, op) > 0;
      default:
        return Py.compare(a, b, op) >= 0;
    }
  }

  Object applyFilter(Object value, Expr.Filter f, Scope s) {
    try {
      return Filters.apply(f.name(), value, args(f.args(), s));
    } catch (TemplateException ex) {
      throw ex.atLine(f.line());
    }
  }

  CallArgs args(Expr.Args a, Scope s) {
    if (a == Expr.Args.NONE) {
      return CallArgs.EMPTY;
    }
    List<Object> positional = evalAll(a.positional(), s);
    if (a.starArgs() != null) {
      positional.addAll(Py.iterate(eval(a.starArgs(), s)));
    }
    Map<String, Object> keywords = new LinkedHashMap<>();
    for (Expr.Keyword k : a.keywords()) {
      addKeyword(keywords, k.name(), eval(k.value(), s));
    }
    if (a.starKwargs() != null) {
      Object mapping = eval(a.starKwargs(), s);
      if (!(mapping instanceof Map<?, ?> m)) {
        throw new TemplateException("argument after ** must be a mapping, not " + Py.typeName(mapping));
      }
      m.forEach((k, v) -> addKeyword(keywords, PyRepr.str(k), v));
    }
    return new CallArgs(positional, keywords);
  }

  private static void addKeyword(Map<String, Object> keywords, String name, Object value) {
    if (keywords.containsKey(name)) {
      throw new TemplateException("got multiple values for keyword argument '" + name + "'");
    }
    keywords.put(name, value);
  }

  static Object invoke(Object fn, CallArgs args) {
    if (fn instanceof JCallable c) {
      return c.call(args);
    }
    if (fn instanceof BoundMethod m) {
      return Methods.call(m, args);
    }
    if (fn instanceof Undefined u) {
      throw u.error();
    }
    throw new TemplateException("'" + Py.typeName(fn) + "' object is not callable");
  }
}
