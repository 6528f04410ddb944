// The hello-world command of the `spry run` vs `wazero run` figure (bench/cli.go).
#include <stdio.h>

int main(void) {
  puts("hello, world");
  return 0;
}
