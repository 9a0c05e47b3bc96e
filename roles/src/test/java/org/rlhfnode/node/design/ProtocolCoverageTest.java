package org.rlhfnode.node.design;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhfnode.messages.RankCommand;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.role.RankFollower;
import org.rlhfnode.node.role.RolloutWorker;
import org.rlhfnode.node.role.ScoringRole;
import org.rlhfnode.node.role.TrainerRole;

/**
 * Every message of a role's sealed wire protocol has a handler in the role's actor: a method taking
 * exactly that type. Java 17 has no exhaustive pattern switch, so this is the check that a message added
 * to a protocol cannot go unhandled (it would be dropped as unhandled at run time).
 */
class ProtocolCoverageTest {

  private static List<Class<?>> wireMessages(Class<?> protocol) {
    assertTrue(protocol.isSealed(), protocol + " is sealed");
    List<Class<?>> out = new ArrayList<>();
    for (Class<?> c : protocol.getPermittedSubclasses()) {
      if (!c.getSimpleName().equals("Local")) {
        out.add(c);
      }
    }
    return out;
  }

  private static List<Class<?>> handled(Class<?> actor) {
    List<Class<?>> out = new ArrayList<>();
    for (Method m : actor.getDeclaredMethods()) {
      if (m.getParameterCount() == 1) {
        out.add(m.getParameterTypes()[0]);
      }
    }
    return out;
  }

  @Test
  void everyWireMessageOfARoleHasAHandler() {
    Map<Class<?>, Class<?>> roles = Map.of(TrainerCommand.class, TrainerRole.class, ScorerCommand.class,
        ScoringRole.class, RolloutCommand.class, RolloutWorker.class, RankCommand.class, RankFollower.class);
    roles.forEach((protocol, actor) -> {
      List<Class<?>> missing = new ArrayList<>(wireMessages(protocol));
      missing.removeAll(handled(actor));
      assertEquals(List.of(), missing, actor.getSimpleName() + " has no handler for");
    });
  }

  @Test
  void theProtocolsAreTheDocumentedOnes() {
    assertEquals(List.of("ScoreRequest", "ExperienceBatch", "TrainStep", "SyncWeights", "CheckpointRequest",
        "RestoreState", "StatusQuery"), names(TrainerCommand.class));
    assertEquals(List.of("ScoreRequest", "StatusQuery"), names(ScorerCommand.class));
    assertEquals(List.of("RolloutRequest", "RollBack", "StatusQuery"), names(RolloutCommand.class));
    assertEquals(List.of("Task", "ExperienceBatch", "ScoreRequest"), names(RankCommand.class));
  }

  private static List<String> names(Class<?> protocol) {
    return wireMessages(protocol).stream().map(Class::getSimpleName).toList();
  }

  @Test
  void theCheckFindsAMissingHandler() {
    List<Class<?>> missing = new ArrayList<>(wireMessages(TrainerCommand.class));
    missing.removeAll(handled(ScoringRole.class));
    assertTrue(Arrays.asList(missing.stream().map(Class::getSimpleName).toArray()).contains("TrainStep"), "" + missing);
  }
}
