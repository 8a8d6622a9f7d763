// placeholder: implemented in issue 3
