package org.rlhfnode.runtime.algo.ppo;

/**
 * A rule-based reward (algorithms.md §7.1): a score for one decoded prompt and response, such as
 * "1 when the answer is correct". Implementations are named by class in {@code --reward_functions},
 * need a public no-argument constructor, and must be pure: the same text gives the same score.
 */
@FunctionalInterface
public interface RewardFunction {
  /**
   * @param prompt the prompt as the policy saw it (chat template applied), special tokens kept
   * @param response the generated text, special tokens removed
   */
  double score(String prompt, String response);

  /** An instance of the class called {@code className}; the error names the class and what is wrong. */
  static RewardFunction load(String className) {
    Class<?> c;
    try {
      c = Class.forName(className);
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException("--reward_functions: class " + className + " not found on the class path");
    }
    if (!RewardFunction.class.isAssignableFrom(c)) {
      throw new IllegalArgumentException("--reward_functions: " + className + " does not implement "
          + RewardFunction.class.getName());
    }
    try {
      return (RewardFunction) c.getConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("--reward_functions: " + className
          + " needs a public no-argument constructor (" + e + ")");
    }
  }
}
