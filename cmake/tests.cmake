# Unit tests of pure code (Check) and end-to-end tests of the real server
# against a real PostgreSQL, which the "database" fixture starts once per run.

if(CHECK_FOUND)
  file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
  foreach(src ${UNIT_TESTS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_link_libraries(${name} PRIVATE duban_core PkgConfig::CHECK)
    add_test(NAME unit.${name} COMMAND ${name} ${CMAKE_SOURCE_DIR}/seed/plan-2018.txt)
    # Check stops a test after 4 s by default: a bound a loaded machine
    # crosses. The tests assert behaviour; ctest's timeout catches a hang.
    set_tests_properties(unit.${name} PROPERTIES ENVIRONMENT "CK_DEFAULT_TIMEOUT=120;CK_TIMEOUT_MULTIPLIER=5")
  endforeach()
else()
  message(WARNING "Check not found: unit tests are not built")
endif()

find_program(PYTHON3 python3)
set(TEST_CLUSTER ${CMAKE_BINARY_DIR}/test-cluster)
add_test(NAME database.start
         COMMAND ${CMAKE_SOURCE_DIR}/scripts/pg start ${TEST_CLUSTER} --ephemeral)
add_test(NAME database.stop
         COMMAND ${CMAKE_SOURCE_DIR}/scripts/pg stop ${TEST_CLUSTER})
set_tests_properties(database.start PROPERTIES FIXTURES_SETUP database)
set_tests_properties(database.stop PROPERTIES FIXTURES_CLEANUP database)

file(GLOB E2E_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/e2e/test_*.py)
foreach(src ${E2E_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME e2e.${name} COMMAND ${PYTHON3} ${src})
  set_tests_properties(e2e.${name} PROPERTIES
    FIXTURES_REQUIRED database
    TIMEOUT 600
    ENVIRONMENT "DUBAN_BIN=$<TARGET_FILE:duban>;DUBAN_TEST_CLUSTER=${TEST_CLUSTER};DUBAN_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
# The fault tests stop, freeze and restart PostgreSQL and hold 1,100
# connections: on a loaded machine under the sanitizers they need longer.
set_tests_properties(e2e.test_faults PROPERTIES TIMEOUT 1500)
# The cluster test starts two databases, two instances and HAProxy, runs
# 10,000 operations, kills an instance and fails over, waiting for each.
set_tests_properties(e2e.test_cluster PROPERTIES TIMEOUT 1800)

# The Docker files, checked statically (no container engine runs here).
add_test(NAME docker.files COMMAND ${CMAKE_SOURCE_DIR}/tests/docker/check_docker.sh)

include(${CMAKE_SOURCE_DIR}/cmake/contract.cmake OPTIONAL)
