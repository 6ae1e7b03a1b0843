// The header check is its build: every public header compiled alone (see
// CMakeLists.txt). Running the program only confirms that it was built.
int main()
{
  return 0;
}
