package io.github.optlist;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The arrows between the library's packages, checked on its classes (not the tests'), so that a back-arrow fails
 * the build: the framework-free core at the bottom, {@code internal} above it, the file formats
 * ({@code torch.files}) above both, the optimizer ({@code torch}) above them, then {@code distributed},
 * {@code search} and {@code reproduce}, and the command line on top, which nothing imports. The study database
 * ({@code search.study}) sits on the core alone: JDBC and Jackson, no LibTorch.
 */
@AnalyzeClasses(packages = "io.github.optlist", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    private static final String CORE = "io.github.optlist";
    private static final String SUBPACKAGES = "io.github.optlist.*..";
    private static final String INTERNAL = "io.github.optlist.internal..";
    private static final String TORCH = "io.github.optlist.torch..";
    private static final String FILES = "io.github.optlist.torch.files..";
    private static final String DISTRIBUTED = "io.github.optlist.distributed..";
    private static final String SEARCH = "io.github.optlist.search..";
    private static final String REPRODUCE = "io.github.optlist.reproduce..";
    private static final String CLI = "io.github.optlist.cli..";
    private static final String STUDY = "io.github.optlist.search.study..";

    @ArchTest
    static final ArchRule packagesFormNoCycle = slices().matching("io.github.optlist.(**)").should()
            .beFreeOfCycles();

    @ArchTest
    static final ArchRule theCoreImportsNoLibTorchAndNoOtherPackageOfTheProject = noClasses().that()
            .resideInAPackage(CORE).should().dependOnClassesThat().resideInAnyPackage("org.bytedeco..", SUBPACKAGES);

    @ArchTest
    static final ArchRule internalImportsNoPackageAboveIt = noClasses().that().resideInAPackage(INTERNAL)
            .should().dependOnClassesThat().resideInAnyPackage(TORCH, DISTRIBUTED, SEARCH, REPRODUCE, CLI);

    @ArchTest
    static final ArchRule theOptimizerImportsNeitherSearchReproduceDistributedNorCli = noClasses().that()
            .resideInAPackage(TORCH).should().dependOnClassesThat()
            .resideInAnyPackage(SEARCH, REPRODUCE, DISTRIBUTED, CLI);

    @ArchTest
    static final ArchRule theFileFormatsImportNoPackageAboveThem = noClasses().that().resideInAPackage(FILES)
            .should().dependOnClassesThat().resideInAnyPackage("io.github.optlist.torch", DISTRIBUTED, SEARCH,
                    REPRODUCE, CLI);

    @ArchTest
    static final ArchRule distributedTrainingImportsNeitherSearchReproduceNorCli = noClasses().that()
            .resideInAPackage(DISTRIBUTED).should().dependOnClassesThat().resideInAnyPackage(SEARCH, REPRODUCE, CLI);

    @ArchTest
    static final ArchRule theSearchImportsNeitherReproduceNorCli = noClasses().that().resideInAPackage(SEARCH)
            .should().dependOnClassesThat().resideInAnyPackage(REPRODUCE, CLI);

    /** The study database is framework-free: the core, internal, the JDK (JDBC among it) and Jackson. */
    @ArchTest
    static final ArchRule theStudyDatabaseImportsOnlyTheCoreInternalTheJdkAndJackson = classes().that()
            .resideInAPackage(STUDY).should().onlyDependOnClassesThat().resideInAnyPackage(CORE, INTERNAL, STUDY,
                    "java..", "javax..", "com.fasterxml.jackson..");

    @ArchTest
    static final ArchRule nothingImportsTheCommandLine = noClasses().that().resideOutsideOfPackage(CLI)
            .should().dependOnClassesThat().resideInAPackage(CLI);
}
