package org.rlhfnode.messages;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/** Configs for the test actor systems: local provider, Java serialization off, every local send serialized. */
final class TestSystems {
  private TestSystems() {}

  /**
   * Local provider (no network), Java serialization off, and {@code serialize-messages = on}, so that
   * every message told to a probe goes through its real serializer first. The module's own
   * {@code reference.conf} supplies the bindings under test.
   */
  static Config serializationConfig() {
    return ConfigFactory.parseString("""
        pekko.actor.provider = local
        pekko.actor.allow-java-serialization = off
        pekko.actor.warn-about-java-serializer-usage = on
        pekko.actor.serialize-messages = on
        pekko.loglevel = WARNING
        pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
        pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
        """).withFallback(ConfigFactory.load());
  }
}
