"use strict";(()=>{var o=[{name:"AdminDashboard",document:`# The admin home page: all-time stat cards with today's change against yesterday, this month's
# cost and cache panels, system health, key and user counts, and the last week's table and charts.
query AdminDashboard {
  dashboardStats {
    allTime {
      requests
      successRequests
      errorRequests
      cost
      actualCost
      totalTokens
      cacheCreationTokens
      cacheReadTokens
      cacheHitRate
    }
    today {
      requests
      cost
      totalTokens
      cacheCreationTokens
      cacheReadTokens
      cacheHitRate
    }
    yesterday {
      requests
      cost
      totalTokens
      cacheCreationTokens
      cacheReadTokens
      cacheHitRate
    }
    month {
      cost
      actualCost
      costSavings
      cacheCreationTokens
      cacheReadTokens
      cacheCreationCost
      cacheReadCost
      totalTokens
    }
    systemHealth {
      avgResponseTime
      errorRate
      errorRequests
      fallbackCount
      totalRequests
    }
    apiKeys {
      total
      active
    }
    users {
      total
      active
    }
  }
  dailyStats(days: 7) {
    days {
      date
      requests
      totalTokens
      cost
      avgResponseTime
      uniqueModels
      uniqueProviders
      modelBreakdown {
        model
        cost
      }
    }
  }
}
`},{name:"DailyChart",document:`# The usage chart with its 7/30/90-day range picker, the per-model daily cost chart and the
# per-model table under them.
query DailyChart($days: Int!) {
  dailyStats(days: $days) {
    period {
      startDate
      endDate
      days
    }
    days {
      date
      requests
      totalTokens
      cost
      avgResponseTime
      modelBreakdown {
        model
        cost
      }
    }
    modelSummary {
      model
      requests
      totalTokens
      cost
      avgResponseTime
      costPerRequest
      tokensPerRequest
    }
  }
}
`},{name:"ProviderHealth",document:`# The provider panel: active providers and their last-24-hour traffic in the viewer's scope.
query ProviderHealth {
  providerStatus {
    id
    name
    displayName
    state
    requests
  }
}
`},{name:"RecentActivity",document:`# The recent-requests list; the server scopes it to the viewer.
query RecentActivity($limit: Int! = 10) {
  recentRequests(limit: $limit) {
    id
    requestId
    createdAt
    model
    isStream
    statusCode
    totalTokens
    cost
    user {
      id
      username
    }
    provider {
      id
      displayName
    }
  }
}
`},{name:"UserDashboard",document:`# A user's home page: their keys, this month's requests, cache and spend, today's figures (with
# the request count compared to yesterday), their quota, token breakdown and the last week's table.
query UserDashboard {
  dashboardStats {
    apiKeys {
      total
      active
    }
    month {
      requests
      cacheCreationTokens
      cacheReadTokens
      cacheHitRate
      cost
    }
    today {
      requests
      cost
      totalTokens
      cacheCreationTokens
      cacheReadTokens
    }
    yesterday {
      requests
    }
    quota {
      limitUsd
      usedUsd
      usedPercent
    }
    allTime {
      inputTokens
      outputTokens
      cacheCreationTokens
      cacheReadTokens
      totalTokens
    }
  }
  dailyStats(days: 7) {
    days {
      date
      requests
      totalTokens
      cost
      avgResponseTime
      modelBreakdown {
        model
        cost
      }
    }
  }
}
`},{name:"Viewer",document:`# Who the token belongs to: the dashboard picks the admin or the user page from the role.
query Viewer {
  viewer {
    id
    username
    role
  }
}
`}];var a="statsgraph.token";function r(){try{return sessionStorage.getItem(a)??""}catch{return""}}function c(e){try{e?sessionStorage.setItem(a,e):sessionStorage.removeItem(a)}catch{}}var i={DailyChart:{days:30}},n=document.getElementById("token");n.value=r();n.addEventListener("input",()=>c(n.value.trim()));async function u(e,l){let t={"Content-Type":"application/json",Accept:"application/json"},s=n.value.trim();return s&&(t.Authorization=`Bearer ${s}`),Object.assign(t,l?.headers??{}),(await fetch("/graphql",{method:"POST",headers:t,body:JSON.stringify(e),credentials:"same-origin"})).json()}var h=o.map(e=>({query:e.document,variables:i[e.name]?JSON.stringify(i[e.name],null,2):void 0})),d=document.getElementById("graphiql");d&&ReactDOM.createRoot(d).render(React.createElement(GraphiQL,{fetcher:u,defaultTabs:h,defaultEditorToolsVisibility:!0,shouldPersistHeaders:!1,isHeadersEditorEnabled:!0}));})();
