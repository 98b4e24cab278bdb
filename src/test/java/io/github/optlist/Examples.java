package io.github.optlist;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * Calls into the examples as a user's program: they are built into {@code target/examples} against the library
 * alone (never compiled with the tests), and surefire puts that folder on the tests' class path.
 */
public final class Examples {

    private Examples() {
    }

    /** Calls the public static method {@code name} of example class {@code className} with {@code args}. */
    public static Object call(String className, String name, Object... args) throws Exception {
        Class<?> example = Class.forName("io.github.optlist.examples." + className);
        Method method = Arrays.stream(example.getMethods())
                .filter(m -> m.getName().equals(name) && m.getParameterCount() == args.length)
                .findFirst()
                .orElseThrow(() -> new NoSuchMethodException(className + "." + name));
        try {
            return method.invoke(null, args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }
}
