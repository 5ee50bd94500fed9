# cpack -G DEB: drctl_<version>_amd64.deb with the binary, its dlopen()ed modules (lib/drctl/),
# the man page, the bash completion, the example playbooks, the docs and drctl serve's systemd
# unit. Runtime dependencies come from dpkg-shlibdeps over every ELF file in the package, the
# modules included. The package keeps Debian's conventions: tests/package/clean_install.sh fails
# on any lintian error or warning.
set(DRCTL_DEBIAN_DIR ${PROJECT_SOURCE_DIR}/cmake/debian)  # changelog, copyright, lintian-overrides

# The changelog's newest entry is the package's version: they cannot disagree.
file(STRINGS ${DRCTL_DEBIAN_DIR}/changelog _changelog_head LIMIT_COUNT 1)
if(NOT _changelog_head MATCHES "^drctl \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "cmake/debian/changelog: the newest entry (${_changelog_head}) is not version "
                      "${PROJECT_VERSION} (project() in CMakeLists.txt): add an entry")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME drctl)
set(CPACK_PACKAGE_VENDOR "drctl")
set(CPACK_PACKAGE_CONTACT "drctl maintainers <drctl@drctl.dev>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Disaster-recovery switchover: pre-switch checks, timed playbooks, rollback")
# One line per line of the control file's extended description (lintian: under 80 columns).
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
  "drctl gates a switchover between two data centers on native checks (Consul,"
  "MySQL/MariaDB replication, gRPC health, etcd), then runs a declarative"
  "playbook (database switchover, etcd watch handoff, cache warmup, routing"
  "reload) with budgets, an SLA verdict, a run lock, a crash-safe journal,"
  "resume and rollback, and reports for terminals, pipelines and drills.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libcurl is dlopen()ed on first use (so `drctl version` starts in ~2 ms): shlibdeps cannot see it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.88)")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://drctl.dev/")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# CPack writes postinst/postrm calling ldconfig for the private modules in /usr/lib/drctl; this
# takes them out again (the why is in the script).
set(CPACK_POST_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/deb-no-ldconfig.cmake)

# The man page, made at build time from the built drctl's own help (scripts/gen-manpage), so it
# never drifts from the CLI; gzip -9n (no name, no timestamp: reproducible).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(DRCTL_MAN_PAGE ${CMAKE_BINARY_DIR}/man/drctl.1)
add_custom_command(
  OUTPUT ${DRCTL_MAN_PAGE} ${DRCTL_MAN_PAGE}.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/gen-manpage --drctl $<TARGET_FILE:drctl>
          --changelog ${DRCTL_DEBIAN_DIR}/changelog --output ${DRCTL_MAN_PAGE}
  COMMAND gzip -9nkf ${DRCTL_MAN_PAGE}
  DEPENDS drctl ${PROJECT_SOURCE_DIR}/scripts/gen-manpage ${DRCTL_DEBIAN_DIR}/changelog
  COMMENT "Generating man/drctl.1 from drctl's help"
  VERBATIM)
# The Debian changelog of a native package: /usr/share/doc/drctl/changelog.gz.
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/debian/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E copy ${DRCTL_DEBIAN_DIR}/changelog ${CMAKE_BINARY_DIR}/debian/changelog
  COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/debian/changelog
  DEPENDS ${DRCTL_DEBIAN_DIR}/changelog
  VERBATIM)
add_custom_target(drctl-package-docs ALL DEPENDS ${DRCTL_MAN_PAGE}.gz ${CMAKE_BINARY_DIR}/debian/changelog.gz)

install(FILES ${DRCTL_MAN_PAGE}.gz DESTINATION share/man/man1)
install(FILES ${DRCTL_DEBIAN_DIR}/copyright ${CMAKE_BINARY_DIR}/debian/changelog.gz DESTINATION share/doc/drctl)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/playbooks/examples/ DESTINATION share/doc/drctl/examples)
install(FILES ${PROJECT_SOURCE_DIR}/playbooks/templates/two-sites.yaml ${PROJECT_SOURCE_DIR}/playbooks/schema/playbook-v1.schema.json
        DESTINATION share/doc/drctl)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/exit-codes.md ${PROJECT_SOURCE_DIR}/docs/playbook.md
              ${PROJECT_SOURCE_DIR}/docs/report.md DESTINATION share/doc/drctl)

# drctl serve's systemd template unit, one instance per playbook (docs/serve.md, "Running under
# systemd"). In /usr/lib/systemd/system, the location lintian calls canonical (Debian 12 is
# merged-/usr: /lib/systemd/system is the same directory). No maintainer scripts: a template
# without DefaultInstance= has nothing to enable or start at install (dh_installsystemd skips such
# units too), systemd finds a new unit file when it is first started, and lintian asks for none.
install(FILES ${DRCTL_DEBIAN_DIR}/drctl-serve@.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/docs/serve.md DESTINATION share/doc/drctl)  # its Documentation=
# Alerting rules for what drctl serve exposes, with their promtool unit tests.
install(FILES ${PROJECT_SOURCE_DIR}/contrib/prometheus/drctl.rules.yml
              ${PROJECT_SOURCE_DIR}/contrib/prometheus/drctl.rules.test.yml
        DESTINATION share/doc/drctl/prometheus)
# The unit's ExecReload runs /bin/kill (procps, priority important: on every standard system).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "procps")
include(CPack)
