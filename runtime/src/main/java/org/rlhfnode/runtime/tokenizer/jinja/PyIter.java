package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * The lazy results jinja2 hands around: generators from {@code select}/{@code map}/..., the
 * iterator from {@code reverse}, and the {@code dict.items()/keys()/values()} views. They are not
 * lists in Python: a generator is always truthy, has no length and is exhausted after one pass;
 * keeping those rules is what makes templates render as they do under HuggingFace.
 */
final class PyIter {
  enum Kind {
    GENERATOR("generator", false),
    REVERSE_ITERATOR("list_reverseiterator", false),
    DICT_KEYS("dict_keys", true),
    DICT_VALUES("dict_values", true),
    DICT_ITEMS("dict_items", true);

    final String pyName;
    final boolean sized;

    Kind(String pyName, boolean sized) {
      this.pyName = pyName;
      this.sized = sized;
    }
  }

  private final Kind kind;
  private final List<Object> items;
  /** Items already consumed; only generators and iterators advance it. */
  private int cursor;

  PyIter(Kind kind, List<?> items) {
    this.kind = kind;
    this.items = new ArrayList<>(items);
  }

  static PyIter generator(List<?> items) {
    return new PyIter(Kind.GENERATOR, items);
  }

  Kind kind() {
    return kind;
  }

  /** Remaining items; consumes a generator or iterator, as a Python for loop would. */
  List<Object> drain() {
    List<Object> rest = new ArrayList<>(items.subList(cursor, items.size()));
    if (!kind.sized) {
      cursor = items.size();
    }
    return rest;
  }

  /** The next item (Python's next()), or null with {@code hasNext() == false}. */
  boolean hasNext() {
    return cursor < items.size();
  }

  Object nextItem() {
    Object item = items.get(cursor);
    if (!kind.sized) {
      cursor++;
    }
    return item;
  }

  int size() {
    if (!kind.sized) {
      throw new TemplateException("object of type '" + kind.pyName + "' has no len()");
    }
    return items.size();
  }

  /** A view's contents as Python prints them inside {@code dict_keys([...])}. */
  List<Object> viewItems() {
    return items;
  }
}
