# Windows features (IIS role services) by their exact names.
# Prints { "features": [ { name, installed } ] }; a name Windows does not know is absent.
param([string[]]$Features)

Import-Module ServerManager
$list = @(Get-WindowsFeature -Name $Features | ForEach-Object {
    [pscustomobject]@{ name = $_.Name; installed = [bool]$_.Installed }
  })
[pscustomobject]@{ features = $list } | ConvertTo-Json -Compress -Depth 4
