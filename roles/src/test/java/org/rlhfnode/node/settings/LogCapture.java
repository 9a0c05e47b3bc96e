package org.rlhfnode.node.settings;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/** The INFO-and-above events one class's logger writes while an action runs. */
public final class LogCapture {
  private LogCapture() {}

  public static List<ILoggingEvent> of(Class<?> source, Runnable action) {
    Logger log = (Logger) LoggerFactory.getLogger(source);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    Level before = log.getLevel();
    log.setLevel(Level.INFO);
    log.addAppender(appender);
    try {
      action.run();
    } finally {
      log.detachAppender(appender);
      log.setLevel(before);
    }
    return appender.list;
  }
}
