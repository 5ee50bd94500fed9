# CPACK_POST_BUILD_SCRIPTS: takes out the postinst and postrm that CPack's DEB generator writes
# on its own. CMake (3.25) writes `ldconfig` into both whenever a shared object lies in a
# directory under /usr/lib, and no variable turns that off; drctl's modules in /usr/lib/drctl
# are private and dlopen()ed by path, ldconfig has nothing to do with them, and lintian warns
# (maintscript-calls-ldconfig). Only scripts that are exactly CPack's ldconfig boilerplate go:
# maintainer scripts of our own (CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA, cmake/packaging.cmake)
# replace CPack's anyway and are kept.
foreach(deb IN LISTS CPACK_PACKAGE_FILES)
  if(NOT deb MATCHES "\\.deb$")
    continue()
  endif()
  set(tree "${deb}.tree")
  file(REMOVE_RECURSE "${tree}")
  execute_process(COMMAND dpkg-deb -R "${deb}" "${tree}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "deb-no-ldconfig: dpkg-deb -R ${deb} failed")
  endif()
  set(dropped "")
  foreach(script postinst postrm)
    set(path "${tree}/DEBIAN/${script}")
    if(EXISTS "${path}")
      file(READ "${path}" text)
      string(REGEX REPLACE "[ \t\n]+" " " text "${text}")
      if(text MATCHES "^#!/bin/sh set -e if \\[ \"\\$1\" = \"(configure|remove)\" \\]; then ldconfig fi $")
        file(REMOVE "${path}")
        list(APPEND dropped ${script})
      endif()
    endif()
  endforeach()
  if(dropped)
    execute_process(COMMAND dpkg-deb --root-owner-group -Zxz --build "${tree}" "${deb}"
                    OUTPUT_QUIET RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "deb-no-ldconfig: dpkg-deb --build ${deb} failed")
    endif()
    message(STATUS "deb-no-ldconfig: ${deb}: dropped CPack's ldconfig ${dropped}")
  endif()
  file(REMOVE_RECURSE "${tree}")
endforeach()
