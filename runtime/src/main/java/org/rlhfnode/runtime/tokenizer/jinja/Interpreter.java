package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Executes statement nodes, appending output; loop control travels back as a {@link Flow} value. */
final class Interpreter {
  /** How a statement list finished: normally, or by {@code break}/{@code continue} of the innermost loop. */
  enum Flow { NORMAL, BREAK, CONTINUE }

  private final Evaluator eval = new Evaluator();

  Flow exec(List<Node> nodes, Scope s, StringBuilder out) {
    for (Node n : nodes) {
      Flow flow;
      try {
        flow = execNode(n, s, out);
      } catch (TemplateException e) {
        throw e.atLine(n.line());
      } catch (RuntimeException e) {
        // A Java exception here is a bug in this engine; report it like a template error so the
        // caller still learns the template line instead of getting an unexplained stack trace.
        throw new TemplateException(n.line(), "internal error: " + e, e);
      }
      if (flow != Flow.NORMAL) {
        return flow;
      }
    }
    return Flow.NORMAL;
  }

  private Flow execNode(Node n, Scope s, StringBuilder out) {
    if (n instanceof Node.Text t) {
      out.append(t.text());
    } else if (n instanceof Node.Output o) {
      out.append(PyRepr.str(eval.eval(o.expr(), s)));
    } else if (n instanceof Node.If i) {
      return execIf(i, s, out);
    } else if (n instanceof Node.For f) {
      return execFor(f, s, out);
    } else if (n instanceof Node.Set set) {
      assign(set.target(), eval.eval(set.value(), s), s);
    } else if (n instanceof Node.Break) {
      return Flow.BREAK;
    } else if (n instanceof Node.Continue) {
      return Flow.CONTINUE;
    } else {
      execDefinition(n, s, out);
    }
    return Flow.NORMAL;
  }

  private void execDefinition(Node n, Scope s, StringBuilder out) {
    if (n instanceof Node.SetBlock sb) {
      Object value = applyFilters(sb.filters(), render(sb.body(), s.child()), s);
      assign(sb.target(), value, s);
    } else if (n instanceof Node.Macro m) {
      s.set(m.name(), new Macro(m.name(), m.params(), m.body(), s, this));
    } else if (n instanceof Node.CallBlock cb) {
      out.append(PyRepr.str(execCallBlock(cb, s)));
    } else if (n instanceof Node.FilterBlock fb) {
      out.append(PyRepr.str(applyFilters(fb.filters(), render(fb.body(), s.child()), s)));
    } else if (n instanceof Node.Scoped sc) {
      Scope inner = s.child();
      for (int i = 0; i < sc.names().size(); i++) {
        inner.set(sc.names().get(i), eval.eval(sc.values().get(i), s));
      }
      exec(sc.body(), inner, out);
    } else {
      throw new IllegalStateException("unknown statement node " + n);
    }
  }

  private String render(List<Node> body, Scope s) {
    StringBuilder buffer = new StringBuilder();
    exec(body, s, buffer);
    return buffer.toString();
  }

  private Object applyFilters(List<Expr.Filter> filters, Object value, Scope s) {
    Object current = value;
    for (Expr.Filter f : filters) {
      current = eval.applyFilter(current, f, s);
    }
    return current;
  }

  private Flow execIf(Node.If node, Scope s, StringBuilder out) {
    for (Node.Branch b : node.branches()) {
      if (Py.truthy(eval.eval(b.test(), s))) {
        return exec(b.body(), s, out);
      }
    }
    return exec(node.orElse(), s, out);
  }

  private Flow execFor(Node.For f, Scope s, StringBuilder out) {
    List<Object> items = Py.iterate(eval.eval(f.iter(), s));
    if (f.filter() != null) {
      items.removeIf(item -> {
        Scope probe = s.child();
        bindTargets(f, item, probe);
        return !Py.truthy(eval.eval(f.filter(), probe));
      });
    }
    LoopContext loop = new LoopContext(items);
    // jinja2 clears its "run the else block" flag at the end of an iteration's body, so a break in
    // the first iteration, or a continue in every one, still runs the else block.
    boolean bodyCompleted = false;
    for (int i = 0; i < items.size(); i++) {
      loop.moveTo(i);
      Scope iteration = s.child();
      bindTargets(f, items.get(i), iteration);
      iteration.set("loop", loop);
      Flow flow = exec(f.body(), iteration, out);
      if (flow == Flow.BREAK) {
        break;
      }
      bodyCompleted |= flow == Flow.NORMAL;
    }
    return bodyCompleted ? Flow.NORMAL : exec(f.orElse(), s.child(), out);
  }

  private void bindTargets(Node.For f, Object item, Scope s) {
    if (!f.unpack()) {
      s.set(f.targets().get(0), item);
      return;
    }
    List<Object> values = unpack(item, f.targets().size());
    for (int i = 0; i < values.size(); i++) {
      s.set(f.targets().get(i), values.get(i));
    }
  }

  private static List<Object> unpack(Object value, int expected) {
    List<Object> values = Py.iterate(value);
    if (values.size() > expected) {
      throw new TemplateException("too many values to unpack (expected " + expected + ")");
    }
    if (values.size() < expected) {
      throw new TemplateException("not enough values to unpack (expected " + expected + ", got " + values.size() + ")");
    }
    return values;
  }

  private void assign(Node.Target target, Object value, Scope s) {
    if (target instanceof Node.NameTarget n) {
      s.set(n.name(), value);
    } else if (target instanceof Node.TupleTarget t) {
      List<Object> values = unpack(value, t.names().size());
      for (int i = 0; i < values.size(); i++) {
        s.set(t.names().get(i), values.get(i));
      }
    } else if (target instanceof Node.AttrTarget a) {
      Object owner = s.lookup(a.name());
      if (!(owner instanceof Namespace ns)) {
        throw new TemplateException("cannot assign attribute on non-namespace object");
      }
      ns.set(a.attr(), value);
    }
  }

  private Object execCallBlock(Node.CallBlock cb, Scope s) {
    Object callee = eval.eval(cb.call().callee(), s);
    CallArgs args = eval.args(cb.call().args(), s);
    if (!(callee instanceof Macro macro)) {
      return Evaluator.invoke(callee, args);
    }
    Macro caller = new Macro("caller", cb.callerParams(), cb.body(), s, this);
    return macro.callWithCaller(args, caller);
  }

  /** Calls a macro: binds arguments like Python, evaluating defaults in the macro's own scope. */
  Object invoke(Macro m, CallArgs args, Macro caller) {
    List<Node.Param> params = m.params();
    if (args.positional().size() > params.size()) {
      throw new TemplateException("macro '" + m.name() + "' takes not more than " + params.size() + " argument(s)");
    }
    Map<String, Object> keywords = new HashMap<>(args.keywords());
    Scope ms = m.definedIn().child();
    for (int i = 0; i < params.size(); i++) {
      Node.Param p = params.get(i);
      boolean positional = i < args.positional().size();
      if (positional && keywords.containsKey(p.name())) {
        throw new TemplateException("macro '" + m.name() + "' got multiple values for argument '" + p.name() + "'");
      }
      Object value = positional ? args.positional().get(i)
          : keywords.containsKey(p.name()) ? keywords.remove(p.name())
          : p.defaultValue() != null ? eval.eval(p.defaultValue(), ms)
          : Undefined.because("parameter '" + p.name() + "' was not provided");
      ms.set(p.name(), value);
    }
    if (!keywords.isEmpty()) {
      throw new TemplateException("macro '" + m.name() + "' takes no keyword argument '" + keywords.keySet().iterator().next() + "'");
    }
    ms.set("varargs", new Tuple(List.of()));
    ms.set("kwargs", new LinkedHashMap<String, Object>());
    if (caller != null) {
      ms.set("caller", caller);
    }
    return render(m.body(), ms);
  }
}
