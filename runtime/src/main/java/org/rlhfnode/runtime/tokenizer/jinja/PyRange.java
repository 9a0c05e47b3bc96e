package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.AbstractList;

/** Python's {@code range}: a lazy sequence that prints as {@code range(0, 3)}. */
final class PyRange extends AbstractList<Object> {
  /** jinja2's sandbox refuses larger ranges; matching it keeps templates portable to HF. */
  static final long MAX_RANGE = 100_000;

  private final long start;
  private final long stop;
  private final long step;
  private final int size;

  PyRange(long start, long stop, long step) {
    if (step == 0) {
      throw new TemplateException("range() arg 3 must not be zero");
    }
    this.start = start;
    this.stop = stop;
    this.step = step;
    long n = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
    if (n > MAX_RANGE) {
      throw new TemplateException("range too big, the sandbox blocks ranges larger than " + MAX_RANGE);
    }
    this.size = (int) Math.max(0, n);
  }

  @Override
  public Object get(int index) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException(index);
    }
    return start + index * step;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public String toString() {
    return step == 1 ? "range(" + start + ", " + stop + ")" : "range(" + start + ", " + stop + ", " + step + ")";
  }
}
