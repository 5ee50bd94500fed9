# cpack -G DEB: drctl_<version>_amd64.deb with the binary, its dlopen()ed modules (lib/drctl/),
# the bash completion, the example playbooks and the docs. Runtime dependencies come from
# dpkg-shlibdeps over every ELF file in the package, the modules included.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME drctl)
set(CPACK_PACKAGE_VENDOR "drctl")
set(CPACK_PACKAGE_CONTACT "drctl maintainers <drctl@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Disaster-recovery switchover: pre-switch checks, timed playbooks, rollback")
set(CPACK_PACKAGE_DESCRIPTION "drctl gates a switchover between two data centers on native checks (Consul, MySQL/MariaDB replication, gRPC health, etcd), then runs a declarative playbook (etcd watch handoff, cache warmup, routing reload) with budgets, an SLA verdict, a run lock, a crash-safe journal, resume and rollback.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libcurl is dlopen()ed on first use (so `drctl version` starts in ~2 ms): shlibdeps cannot see it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.88)")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/drctl")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/playbooks/examples/ DESTINATION share/doc/drctl/examples)
install(FILES ${PROJECT_SOURCE_DIR}/playbooks/templates/two-sites.yaml ${PROJECT_SOURCE_DIR}/playbooks/schema/playbook-v1.schema.json
        DESTINATION share/doc/drctl)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/exit-codes.md ${PROJECT_SOURCE_DIR}/docs/playbook.md
              ${PROJECT_SOURCE_DIR}/docs/report.md DESTINATION share/doc/drctl)
include(CPack)
