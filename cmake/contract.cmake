# The contract checks (tests/contract/): openapi.yaml against itself (lint),
# against the routes duban registers, against every answer the end-to-end
# tests received, against generated requests, through a generated client,
# and rendered in a browser. Each runs node through tests/contract/run.sh,
# which skips (77) when node is not installed. Included at the end of
# cmake/tests.cmake, so the e2e tests and the database fixture exist.
set(CONTRACT_RUN ${CMAKE_SOURCE_DIR}/tests/contract/run.sh)
set(CONTRACT_LOG_DIR ${CMAKE_BINARY_DIR}/contract-log)
set(CONTRACT_ENV
  "DUBAN_BIN=$<TARGET_FILE:duban>;DUBAN_TEST_CLUSTER=${TEST_CLUSTER};DUBAN_SOURCE_DIR=${CMAKE_SOURCE_DIR};CONTRACT_WORK_DIR=${CMAKE_BINARY_DIR}/contract-work")

# npm packages, when scripts/test has not installed them already.
add_test(NAME contract.npm COMMAND ${CMAKE_SOURCE_DIR}/scripts/npm-setup --ctest)
set_tests_properties(contract.npm PROPERTIES FIXTURES_SETUP contract_npm SKIP_RETURN_CODE 77 TIMEOUT 600
                     RESOURCE_LOCK npm)

add_test(NAME contract.lint COMMAND ${CONTRACT_RUN} lint.mjs)
add_test(NAME contract.routes COMMAND ${CONTRACT_RUN} routes.mjs)
set_tests_properties(contract.lint contract.routes PROPERTIES
  FIXTURES_REQUIRED contract_npm SKIP_RETURN_CODE 77 TIMEOUT 300 ENVIRONMENT "${CONTRACT_ENV}")

# Every e2e test logs its exchanges to a file of its own in CONTRACT_LOG_DIR,
# emptied before they start (the reset is a fixture the e2e tests require);
# contract.responses checks them all after the last. It DEPENDS on the e2e
# tests rather than requiring a fixture they set up: DEPENDS only orders, so
# it still runs (and checks every answer logged) when an e2e test fails,
# where a failed fixture setup would skip it. DEPENDS pulls nothing in:
# `ctest -R contract` checks the logs of the last e2e run in this build
# directory (and fails, saying so, when there are none); `ctest -R
# 'e2e|contract'` runs the e2e tests first. The reset's name does not match
# "contract", so that `ctest -R contract` keeps those logs.
add_test(NAME response-log.reset
         COMMAND ${CMAKE_COMMAND} -E rm -rf ${CONTRACT_LOG_DIR})
set_tests_properties(response-log.reset PROPERTIES FIXTURES_SETUP contract_log_reset)
get_property(CONTRACT_ALL_TESTS DIRECTORY PROPERTY TESTS)
set(CONTRACT_E2E_TESTS)
foreach(test ${CONTRACT_ALL_TESTS})
  if(test MATCHES "^e2e\\.")
    set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT "DUBAN_RESPONSE_LOG=${CONTRACT_LOG_DIR}/${test}.jsonl")
    set_property(TEST ${test} APPEND PROPERTY FIXTURES_REQUIRED contract_log_reset)
    list(APPEND CONTRACT_E2E_TESTS ${test})
  endif()
endforeach()
add_test(NAME contract.responses COMMAND ${CONTRACT_RUN} responses.mjs ${CONTRACT_LOG_DIR})
set_tests_properties(contract.responses PROPERTIES
  DEPENDS "${CONTRACT_E2E_TESTS}" FIXTURES_REQUIRED contract_npm SKIP_RETURN_CODE 77 TIMEOUT 300
  ENVIRONMENT "${CONTRACT_ENV}")

# Against a running duban of their own (a fresh database on the test cluster).
add_test(NAME contract.properties COMMAND ${CONTRACT_RUN} properties.mjs)
add_test(NAME contract.client COMMAND ${CONTRACT_RUN} client.mjs)
add_test(NAME contract.docs COMMAND ${CONTRACT_RUN} docs.mjs)
set_tests_properties(contract.properties contract.client contract.docs PROPERTIES
  FIXTURES_REQUIRED "database;contract_npm" SKIP_RETURN_CODE 77 TIMEOUT 600 ENVIRONMENT "${CONTRACT_ENV}")
# The property run hammers duban and Chromium is heavy: each takes the
# whole machine (with ctest -j2) so that timing-sensitive tests beside them
# are not disturbed.
set_tests_properties(contract.properties contract.docs PROPERTIES PROCESSORS 2)
