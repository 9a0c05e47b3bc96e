package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.List;

/** The {@code loop} variable of a for loop (jinja2's LoopContext, without recursion). */
final class LoopContext {
  private final List<Object> items;
  private int index0;
  private List<Object> lastChanged;

  LoopContext(List<Object> items) {
    this.items = items;
  }

  void moveTo(int index) {
    index0 = index;
  }

  int index0() {
    return index0;
  }

  int length() {
    return items.size();
  }

  Object attr(String name) {
    int n = items.size();
    switch (name) {
      case "index":
        return (long) index0 + 1;
      case "index0":
        return (long) index0;
      case "revindex":
        return (long) (n - index0);
      case "revindex0":
        return (long) (n - index0 - 1);
      case "first":
        return index0 == 0;
      case "last":
        return index0 == n - 1;
      case "length":
        return (long) n;
      case "depth":
        return 1L;
      case "depth0":
        return 0L;
      case "previtem":
        return index0 > 0 ? items.get(index0 - 1) : Undefined.because("there is no previous item");
      case "nextitem":
        return index0 < n - 1 ? items.get(index0 + 1) : Undefined.because("there is no next item");
      case "cycle":
        return new Builtin("cycle", this::cycle);
      case "changed":
        return new Builtin("changed", this::changed);
      default:
        return Undefined.attribute(this, name);
    }
  }

  private Object cycle(CallArgs args) {
    if (args.positional().isEmpty()) {
      throw new TemplateException("no items for cycling given");
    }
    return args.positional().get(index0 % args.positional().size());
  }

  private Object changed(CallArgs args) {
    List<Object> values = args.positional();
    boolean changed = lastChanged == null || !Py.eq(new Tuple(lastChanged), new Tuple(values));
    lastChanged = values;
    return changed;
  }
}
