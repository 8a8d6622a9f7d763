# hafw_add_test(NAME name SOURCES a_test.cc ... LIBS lib ... [LABELS unit])
# One GoogleTest executable, registered with ctest under the given labels.
function(hafw_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}"
                       ENVIRONMENT "HAFW_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
